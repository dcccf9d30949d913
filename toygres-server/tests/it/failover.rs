//! Automatic failover through the real server: `kill -9` of the primary's postmaster
//! while a writer commits; the synchronous standby takes over with every acknowledged row,
//! never two members take writes (sampled every 100 ms throughout), the former primary
//! comes back as a standby on the new timeline, and the same connection string writes
//! to the new primary.

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
}
