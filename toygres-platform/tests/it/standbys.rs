//! Standbys on the local platform: real primaries and standbys, cloned, streaming,
//! stopped, started, restarted and removed together.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use toygres_domain::{InstanceName, MemberRole, MemberState, Standbys};
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Endpoint, InstanceSpec, Login, Member, Platform, Whose};
use toygres_test_support::{processes, scratch};

fn platform() -> LocalPlatform {
    LocalPlatform::new(
        scratch::subdir("standbys"),
        PgBinaries::discover(None).unwrap(),
    )
    .unwrap()
}

fn data_dirs(platform: &LocalPlatform, name: &InstanceName) -> Vec<PathBuf> {
    let dir = platform.instance_dir(name);
    vec![
        dir.join("data"),
        dir.join("members/2/data"),
        dir.join("members/3/data"),
    ]
}

async fn connect(platform: &LocalPlatform, name: &InstanceName, port: u16) -> PgConnection {
    connect_as(platform, name, port, Login::Owner).await
}

async fn connect_as(
    platform: &LocalPlatform,
    name: &InstanceName,
    port: u16,
    login: Login,
) -> PgConnection {
    let endpoint = Endpoint {
        port,
        standbys: Vec::new(),
        ..platform.endpoint(name).await.unwrap()
    };
    let credentials = platform.credentials(name, login).await.unwrap();
    PgConnection::connect_with(&credentials.connect_options(&endpoint))
        .await
        .unwrap_or_else(|e| panic!("connecting to port {port}: {e}"))
}

/// Waits until every standby streams and has replayed all the primary wrote.
async fn caught_up(platform: &LocalPlatform, name: &InstanceName) -> Vec<Member> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let members = platform.members(name).await.unwrap();
        let primaries = members
            .iter()
            .filter(|m| m.role == MemberRole::Primary && m.state == MemberState::Running)
            .count();
        let standbys_current = members
            .iter()
            .filter(|member| member.role == MemberRole::Standby)
            .all(|member| member.state == MemberState::Streaming && member.lag_bytes == Some(0));
        if primaries == 1 && standbys_current {
            return members;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "standbys never caught up: {members:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two synchronous standbys: every member runs, the standbys stream and serve reads but
/// refuse writes, a commit waits for a standby, the connection string names every
/// member, no replication is possible over TCP, and stop, start, restart (rolling: the
/// standbys, then the primary role moves to one of them) and delete act on every member.
#[tokio::test]
async fn synchronous_standbys_stream_serve_reads_and_go_with_their_instance() {
    let platform = platform();
    let spec = InstanceSpec {
        standbys: Standbys::new(2, true).unwrap(),
        ..toygres_test_support::control_plane::spec("replicated")
    };
    let name = spec.name.clone();
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();

    let members = caught_up(&platform, &name).await;
    let roles: Vec<_> = members.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(
        roles,
        [
            ("replicated-1", MemberRole::Primary),
            ("replicated-2", MemberRole::Standby),
            ("replicated-3", MemberRole::Standby),
        ]
    );
    assert_eq!(members[0].state, MemberState::Running);
    assert!(members.iter().all(|m| m.timeline == Some(1)), "{members:?}");
    let endpoint = platform.endpoint(&name).await.unwrap();
    let standby_ports: Vec<u16> = endpoint.standbys.iter().map(|a| a.port).collect();
    assert_eq!(standby_ports, [members[1].port, members[2].port]);
    let string = platform
        .credentials(&name, Login::Owner)
        .await
        .unwrap()
        .connection_string(&endpoint);
    assert!(
        string.contains(&format!(
            "127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}/",
            members[0].port, members[1].port, members[2].port
        )) && string.contains("target_session_attrs=read-write"),
        "the string names every member and asks for the writable one"
    );

    let mut primary = connect(&platform, &name, members[0].port).await;
    let waits_for: String = sqlx::query_scalar("SHOW synchronous_standby_names")
        .fetch_one(&mut primary)
        .await
        .unwrap();
    assert_eq!(waits_for, "ANY 1 (toygres_member_2, toygres_member_3)");
    sqlx::raw_sql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)")
        .execute(&mut primary)
        .await
        .unwrap();
    primary.close().await.unwrap();
    let mut monitor = connect_as(&platform, &name, members[0].port, Login::Monitor).await;
    let replicas: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'quorum'")
            .fetch_one(&mut monitor)
            .await
            .unwrap();
    assert_eq!(replicas, 2, "both standbys are candidates for the commit");
    monitor.close().await.unwrap();
    caught_up(&platform, &name).await;
    for standby in &members[1..] {
        let mut connection = connect(&platform, &name, standby.port).await;
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(rows, 2, "{} has the rows", standby.name);
        let write = sqlx::query("INSERT INTO orders VALUES (3)")
            .execute(&mut connection)
            .await
            .unwrap_err();
        assert!(write.to_string().contains("read-only"), "{write}");
    }
    assert_replication_over_tcp_is_refused(&platform, &name, members[0].port).await;

    platform.stop(&name, Whose::Any).await.unwrap();
    for dir in data_dirs(&platform, &name) {
        assert!(
            processes::postmasters_for(&dir).is_empty(),
            "{dir:?} stopped"
        );
    }
    let stopped = platform.members(&name).await.unwrap();
    assert!(
        stopped.iter().all(|m| m.state == MemberState::Stopped),
        "{stopped:?}"
    );
    platform.start(&name, Whose::Any).await.unwrap();
    caught_up(&platform, &name).await;
    platform.restart(&name, Whose::Any, "one").await.unwrap();
    let restarted = caught_up(&platform, &name).await;
    let primary = |members: &[Member]| {
        members
            .iter()
            .find(|m| m.role == MemberRole::Primary)
            .map(|m| m.name.clone())
    };
    assert_ne!(
        primary(&restarted),
        Some("replicated-1".into()),
        "a rolling restart hands the primary role to a restarted standby"
    );
    assert!(
        restarted.iter().all(|m| m.timeline == Some(2)),
        "{restarted:?}"
    );
    platform.restart(&name, Whose::Any, "one").await.unwrap();
    assert_eq!(
        primary(&caught_up(&platform, &name).await),
        primary(&restarted),
        "a repeated restart moves nothing"
    );

    platform.delete(&name, Whose::Any).await.unwrap();
    for dir in data_dirs(&platform, &name) {
        assert!(
            processes::postmasters_for(&dir).is_empty(),
            "{dir:?} stopped"
        );
    }
    assert!(!platform.instance_dir(&name).exists());
    for member in &members {
        assert!(
            !processes::port_is_listening(member.port),
            "{} is gone",
            member.name
        );
    }
}

/// The tenant's login cannot stream WAL (or take a base backup) over TCP from any member:
/// replication is admitted on the private socket only.
async fn assert_replication_over_tcp_is_refused(
    platform: &LocalPlatform,
    name: &InstanceName,
    port: u16,
) {
    let owner = platform.credentials(name, Login::Owner).await.unwrap();
    let psql = PgBinaries::discover(None).unwrap().newest().tool("psql");
    let output = tokio::process::Command::new(psql)
        .arg(format!(
            "host=127.0.0.1 port={port} user={} dbname={} replication=true sslmode=require",
            owner.user, owner.database
        ))
        .args(["-c", "IDENTIFY_SYSTEM"])
        .env("PGPASSWORD", owner.password())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "replication over TCP was allowed");
    assert!(
        stderr.contains("no pg_hba.conf entry for replication connection"),
        "{stderr}"
    );
}

async fn count_orders(platform: &LocalPlatform, name: &InstanceName, port: u16) -> i64 {
    let mut connection = connect(platform, name, port).await;
    let rows = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    rows
}

/// A switchover through the platform's steps, each repeated as a retry after a crash
/// would: the primary stops cleanly, the chosen standby replays its last WAL and is
/// promoted onto timeline 2, and the former primary is rewound and follows it. Nothing
/// acknowledged is lost, the connection string's first address is the new primary's,
/// and a synchronous commit waits for the standbys of the new primary.
#[tokio::test]
async fn the_primary_moves_to_a_standby_and_the_former_primary_follows_it() {
    let platform = platform();
    let spec = InstanceSpec {
        standbys: Standbys::new(2, true).unwrap(),
        ..toygres_test_support::control_plane::spec("moving")
    };
    let name = spec.name.clone();
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    let before = caught_up(&platform, &name).await;
    let mut primary = connect(&platform, &name, before[0].port).await;
    sqlx::raw_sql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)")
        .execute(&mut primary)
        .await
        .unwrap();
    primary.close().await.unwrap();

    let ends_at = platform.stop_primary(&name, Whose::Any).await.unwrap();
    assert_eq!(
        platform.stop_primary(&name, Whose::Any).await.unwrap(),
        ends_at,
        "a repeat finds the same end"
    );
    for _ in 0..2 {
        platform
            .promote(&name, Whose::Any, 2, Some(ends_at))
            .await
            .unwrap();
    }
    for _ in 0..2 {
        platform.rejoin(&name, Whose::Any).await.unwrap();
    }

    let after = caught_up(&platform, &name).await;
    let roles: Vec<_> = after.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(
        roles,
        [
            ("moving-1", MemberRole::Standby),
            ("moving-2", MemberRole::Primary),
            ("moving-3", MemberRole::Standby),
        ]
    );
    assert!(after.iter().all(|m| m.timeline == Some(2)), "{after:?}");
    let endpoint = platform.endpoint(&name).await.unwrap();
    assert_eq!(
        endpoint.port, after[1].port,
        "the endpoint leads with the new primary"
    );

    let mut new_primary = connect(&platform, &name, after[1].port).await;
    sqlx::query("INSERT INTO orders VALUES (3)")
        .execute(&mut new_primary)
        .await
        .unwrap();
    let waits_for: String = sqlx::query_scalar("SHOW synchronous_standby_names")
        .fetch_one(&mut new_primary)
        .await
        .unwrap();
    assert_eq!(waits_for, "ANY 1 (toygres_member_1, toygres_member_3)");
    new_primary.close().await.unwrap();
    caught_up(&platform, &name).await;
    for member in &after {
        assert_eq!(
            count_orders(&platform, &name, member.port).await,
            3,
            "{} has every row",
            member.name
        );
    }
    let string = platform
        .credentials(&name, Login::Owner)
        .await
        .unwrap()
        .connection_string(&endpoint);
    let string = format!(
        "{string}&sslrootcert={}",
        platform.root().join(".ca/ca.crt").display()
    );
    assert_eq!(
        toygres_test_support::psql::psql(&string, "SELECT pg_is_in_recovery()").unwrap(),
        "f",
        "the connection string reaches the new primary"
    );
    platform.delete(&name, Whose::Any).await.unwrap();
}
