//! Automatic failover through the real server: `kill -9` of the primary's postmaster
//! while a writer commits; the synchronous standby takes over with every acknowledged row,
//! never two members take writes (sampled every 100 ms throughout), the former primary
//! comes back as a standby on the new timeline, and the same connection string writes
//! to the new primary. Also: a hung primary is fenced first; the control plane killed
//! during a failover finishes it once; a restore reaches across a failover; an
//! unreachable control database starts none.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::sync::Mutex;
use toygres_domain::api::InstanceView;
use toygres_domain::{InstanceState, MemberRole, MemberState};
use toygres_platform::{Endpoint, Login, Tls};
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::psql::psql;
use toygres_test_support::server::{ServerOptions, TestServer};

async fn get(server: &TestServer, name: &str) -> InstanceView {
    serde_json::from_str(&server.cli_ok(&["-o", "json", "get", name]).await).unwrap()
}

/// A connection to one member (the owner's login, verified TLS), within a second.
async fn connect(server: &TestServer, name: &str, port: u16) -> Option<PgConnection> {
    let credentials = server.instance_credentials(name, Login::Owner).await;
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port,
        user: credentials.user.clone(),
        database: credentials.database.clone(),
        tls: Tls::VerifyFull,
        standbys: Vec::new(),
    };
    let options = credentials.connect_options(&endpoint);
    let connecting = PgConnection::connect_with(&options);
    tokio::time::timeout(Duration::from_secs(1), connecting)
        .await
        .ok()?
        .ok()
}

/// Commits a row every 10 ms on the primary until a commit fails; the ids acknowledged.
async fn write_until_it_fails(mut primary: PgConnection) -> Vec<i32> {
    let mut acknowledged = Vec::new();
    for id in 1.. {
        let insert = sqlx::query("INSERT INTO orders VALUES ($1)")
            .bind(id)
            .execute(&mut primary);
        match tokio::time::timeout(Duration::from_secs(5), insert).await {
            Ok(Ok(_)) => acknowledged.push(id),
            _ => return acknowledged,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_is_replaced_by_its_synchronous_standby_and_rejoins_as_one() {
    let server = Arc::new(TestServer::start(ServerOptions::embedded()).await);
    server
        .cli_ok(&["create", "ha", "--standbys", "1", "--sync", "--wait"])
        .await;
    let read_write = server.cli_ok(&["connection-string", "ha"]).await;
    let read_write = read_write.trim().to_string();
    psql(&read_write, "CREATE TABLE orders (id int PRIMARY KEY)").unwrap();
    let before = get(&server, "ha").await;
    let ports: Vec<u16> = before.members.iter().map(|m| m.port).collect();

    let sampling = Arc::new(AtomicBool::new(true));
    let most_writable = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (server, sampling, most_writable) = (
            Arc::clone(&server),
            Arc::clone(&sampling),
            Arc::clone(&most_writable),
        );
        let ports = ports.clone();
        tokio::spawn(async move {
            while sampling.load(Ordering::SeqCst) {
                let mut writable = 0;
                for port in &ports {
                    if let Some(mut connection) = connect(&server, "ha", *port).await {
                        let primary: Result<bool, _> =
                            sqlx::query_scalar("SELECT NOT pg_is_in_recovery()")
                                .fetch_one(&mut connection)
                                .await;
                        writable += usize::from(primary.unwrap_or(false));
                    }
                }
                most_writable.fetch_max(writable, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let primary = connect(&server, "ha", ports[0]).await.expect("the primary");
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let acknowledged = Arc::clone(&acknowledged);
        tokio::spawn(async move {
            *acknowledged.lock().await = write_until_it_fails(primary).await;
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let data = std::fs::canonicalize(server.instance_data_dir("ha")).unwrap();
    let postmaster = postmasters_for(&data);
    assert_eq!(postmaster.len(), 1, "one postmaster of the primary");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(postmaster[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    writer.await.unwrap();
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 10,
        "the writer wrote: {acknowledged:?}"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let after = loop {
        let view = get(&server, "ha").await;
        let moved = view.state == InstanceState::Running
            && view.members.len() == 2
            && view.members[1].role == MemberRole::Primary
            && view.members[0].role == MemberRole::Standby
            && view.members[0].state == MemberState::Streaming;
        if moved {
            break view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failover: {:?} {:?}",
            view.state,
            view.members
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    sampling.store(false, Ordering::SeqCst);
    sampler.await.unwrap();
    assert!(
        most_writable.load(Ordering::SeqCst) <= 1,
        "two members took writes at once"
    );
    assert!(
        after.members.iter().all(|m| m.timeline == Some(2)),
        "{:?}",
        after.members
    );

    let count: usize = psql(&read_write, "SELECT count(*) FROM orders")
        .unwrap()
        .parse()
        .unwrap();
    let missing = psql(
        &read_write,
        &format!(
            "SELECT count(*) FROM unnest(ARRAY[{}]::int[]) AS id \
             WHERE id NOT IN (SELECT id FROM orders)",
            acknowledged
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    )
    .unwrap();
    assert_eq!(missing, "0", "every acknowledged row survived the failover");
    assert!(count >= acknowledged.len());
    psql(&read_write, "INSERT INTO orders VALUES (-1)").expect("the new primary takes writes");

    let failovers = server
        .cli_ok(&["operations", "list", "--kind", "failover"])
        .await;
    assert!(
        failovers
            .lines()
            .any(|l| l.contains("ha") && l.contains("completed")),
        "{failovers}"
    );
    let events = server.cli_ok(&["events", "ha"]).await;
    assert!(events.contains("failing_over"), "{events}");
    let failover = after
        .operation
        .expect("the failover is the last operation")
        .id;
    let shown: serde_json::Value = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "operations", "show", &failover])
            .await,
    )
    .unwrap();
    assert_eq!(shown["output"]["outcome"], "promoted", "{shown}");
    assert!(
        shown["output"]["lag_bytes"].is_u64(),
        "the lag at failover is kept: {shown}"
    );
}

/// Waits until the primary role has moved to `to` and every other member streams from it.
async fn failed_over(server: &TestServer, name: &str, to: &str) -> InstanceView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let view = get(server, name).await;
        let primaries: Vec<&str> = view
            .members
            .iter()
            .filter(|m| m.role == MemberRole::Primary)
            .map(|m| m.name.as_str())
            .collect();
        let others_stream = view
            .members
            .iter()
            .all(|m| m.role == MemberRole::Primary || m.state == MemberState::Streaming);
        if view.state == InstanceState::Running && primaries == [to] && others_stream {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failover to {to}: {:?} {:?}",
            view.state,
            view.members
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
}

/// A hung primary (its postmaster stopped with SIGSTOP, its backends still running) is
/// fenced before the standby is promoted: a client connected to it before it hung cannot
/// commit afterwards, and after SIGCONT nothing of it takes writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_primary_is_fenced_before_its_standby_takes_over() {
    use nix::sys::signal::Signal;
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "hung", "--standbys", "1", "--wait"])
        .await;
    let read_write = server.cli_ok(&["connection-string", "hung"]).await;
    let read_write = read_write.trim().to_string();
    psql(&read_write, "CREATE TABLE orders (id int)").unwrap();
    let before = get(&server, "hung").await;
    let mut early_client = connect(&server, "hung", before.members[0].port)
        .await
        .expect("the primary");
    let data = std::fs::canonicalize(server.instance_data_dir("hung")).unwrap();
    let postmaster = postmasters_for(&data)[0];
    signal(postmaster, Signal::SIGSTOP);

    failed_over(&server, "hung", "hung-2").await;
    // Killed by the fence already (at most a zombie not yet reaped is left to continue).
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(postmaster), Signal::SIGCONT);
    assert!(
        !postmasters_for(&data).contains(&postmaster),
        "the hung postmaster was killed"
    );
    let late_write = sqlx::query("INSERT INTO orders VALUES (1)")
        .execute(&mut early_client)
        .await;
    assert!(
        late_write.is_err(),
        "a client of the hung primary committed after the failover"
    );
    let after = failed_over(&server, "hung", "hung-2").await;
    let mut former = connect(&server, "hung", after.members[0].port)
        .await
        .expect("the former primary runs again, as a standby");
    let refused = sqlx::query("INSERT INTO orders VALUES (2)")
        .execute(&mut former)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");
    psql(&read_write, "INSERT INTO orders VALUES (3)").expect("the new primary takes writes");
    let failover = after
        .operation
        .expect("the failover is the last operation")
        .id;
    let output = server
        .cli_ok(&["-o", "json", "operations", "show", &failover])
        .await;
    assert!(
        output.contains("did not answer"),
        "the evidence is silence, not a gone process: {output}"
    );
}

/// `kill -9` of the control plane while a failover runs, at a different moment each
/// round: started again, it finishes the failover once, with one primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_failover_finishes_it_once_after_restart() {
    let mut server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "again", "--standbys", "1", "--wait"])
        .await;
    let mut primary = "again-1";
    for (round, delay_ms) in [0u64, 400, 1200].into_iter().enumerate() {
        let view = get(&server, "again").await;
        let index = view.members.iter().position(|m| m.name == primary).unwrap();
        let data = if index == 0 {
            std::fs::canonicalize(server.instance_data_dir("again")).unwrap()
        } else {
            std::fs::canonicalize(server.instance_data_dir("again"))
                .unwrap()
                .parent()
                .unwrap()
                .join(format!("members/{}/data", index + 1))
        };
        signal(postmasters_for(&data)[0], nix::sys::signal::Signal::SIGKILL);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let step = loop {
            let view = get(&server, "again").await;
            if view.state == InstanceState::FailingOver {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                break view.operation.and_then(|o| o.step);
            }
            assert!(tokio::time::Instant::now() < deadline, "no failover began");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        server.kill9().await;
        eprintln!("round {round}: the server was killed at step {step:?} (+{delay_ms} ms)");
        server.restart().await;
        let to = if primary == "again-1" {
            "again-2"
        } else {
            "again-1"
        };
        let after = failed_over(&server, "again", to).await;
        assert!(
            after
                .members
                .iter()
                .all(|m| m.timeline == Some(round as u32 + 2)),
            "one failover per round: {:?}",
            after.members
        );
        primary = to;
    }
    let failovers: serde_json::Value = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "operations", "list", "--kind", "failover"])
            .await,
    )
    .unwrap();
    let completed = failovers["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "completed")
        .count();
    assert_eq!(completed, 3, "{failovers}");
}

/// A backup taken before a failover, and the WAL both primaries archived, restore the
/// latest state across the timeline switch (with a standby of the restore's own) and a
/// moment on the new timeline; a backup after it is taken from the new primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_reaches_across_a_failover() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "kept", "--standbys", "1", "--wait"])
        .await;
    let url = server.cli_ok(&["connection-string", "kept"]).await;
    let url = url.trim().to_string();
    psql(
        &url,
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)",
    )
    .unwrap();
    server.cli_ok(&["backup", "create", "kept", "--wait"]).await;
    psql(&url, "INSERT INTO orders VALUES (2)").unwrap();
    let data = std::fs::canonicalize(server.instance_data_dir("kept")).unwrap();
    signal(postmasters_for(&data)[0], nix::sys::signal::Signal::SIGKILL);
    failed_over(&server, "kept", "kept-2").await;
    psql(&url, "INSERT INTO orders VALUES (3)").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let moment = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    psql(&url, "INSERT INTO orders VALUES (4)").unwrap();

    // The restore has a standby of its own, cloned once it has recovered.
    server
        .cli_ok(&[
            "create",
            "copy",
            "--from",
            "kept",
            "--standbys",
            "1",
            "--wait",
        ])
        .await;
    let copy = server.cli_ok(&["connection-string", "copy"]).await;
    let rows = "SELECT string_agg(id::text, ',' ORDER BY id) FROM orders";
    assert_eq!(
        psql(copy.trim(), rows).unwrap(),
        "1,2,3,4",
        "the rows of both timelines"
    );
    let copy_standby = server
        .cli_ok(&["connection-string", "copy", "--read-only"])
        .await;
    let on_standby = format!("SELECT pg_is_in_recovery() || ' ' || ({rows})");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while psql(copy_standby.trim(), &on_standby).ok().as_deref() != Some("true 1,2,3,4") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restore's standby never served its rows"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A point in time on the new timeline, from the backup taken on the old one.
    server
        .cli_ok(&[
            "create", "rewound", "--from", "kept", "--at", &moment, "--wait",
        ])
        .await;
    let rewound = server.cli_ok(&["connection-string", "rewound"]).await;
    assert_eq!(
        psql(rewound.trim(), rows).unwrap(),
        "1,2,3",
        "3 was written on timeline 2 before the moment, 4 after"
    );
    let backup = server.cli_ok(&["backup", "create", "kept", "--wait"]).await;
    assert!(backup.contains("completed"), "{backup}");
}

/// The control database out of reach for 20 s (its server stopped with SIGSTOP) starts no
/// failover: detection looks at the primaries themselves, and does nothing at all when it
/// cannot list them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_control_database_starts_no_failover() {
    use nix::sys::signal::Signal;
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "calm", "--standbys", "1", "--wait"])
        .await;
    let control = server.options.data_dir.join("control-plane/cms/data");
    let control = std::fs::canonicalize(control).unwrap();
    let postmaster = postmasters_for(&control)[0];
    signal(postmaster, Signal::SIGSTOP);
    tokio::time::sleep(Duration::from_secs(20)).await;
    signal(postmaster, Signal::SIGCONT);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let view = get(&server, "calm").await;
    assert_eq!(view.state, InstanceState::Running);
    assert_eq!(view.members[0].role, MemberRole::Primary);
    assert_eq!(view.members[0].timeline, Some(1), "{:?}", view.members);
    let failovers = server
        .cli_ok(&["operations", "list", "--kind", "failover"])
        .await;
    assert!(!failovers.contains("calm"), "{failovers}");
}
