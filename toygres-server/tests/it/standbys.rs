//! An instance with standbys through the real server and CLI: `create --standbys 2
//! --sync`, `get` with its members, the read-write and read-only connection strings with
//! the real `psql`, and a delete that leaves no member running.

use std::time::Duration;

use toygres_domain::api::InstanceView;
use toygres_domain::{MemberRole, MemberState};
use toygres_test_support::processes::{port_is_listening, postmasters_for};
use toygres_test_support::psql::psql;
use toygres_test_support::server::{ServerOptions, TestServer};

async fn get(server: &TestServer, name: &str) -> InstanceView {
    serde_json::from_str(&server.cli_ok(&["-o", "json", "get", name]).await).unwrap()
}

/// `get` once every member but the primary streams.
async fn streaming(server: &TestServer, name: &str) -> InstanceView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let view = get(server, name).await;
        let all = view.members.len() == usize::from(view.standbys) + 1
            && view
                .members
                .iter()
                .all(|m| m.state == MemberState::Streaming || m.role == MemberRole::Primary);
        if all {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "standbys never streamed: {:?}",
            view.members
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_standbys_is_created_shown_reached_and_deleted_whole() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "pair", "--standbys", "2", "--sync", "--wait"])
        .await;
    let view = streaming(&server, "pair").await;
    assert_eq!((view.standbys, view.synchronous), (2, true));
    let roles: Vec<_> = view
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.role, m.timeline))
        .collect();
    assert_eq!(
        roles,
        [
            ("pair-1", MemberRole::Primary, Some(1)),
            ("pair-2", MemberRole::Standby, Some(1)),
            ("pair-3", MemberRole::Standby, Some(1)),
        ]
    );
    assert_eq!(
        view.endpoint.as_ref().map(|e| e.port),
        Some(view.members[0].port),
        "the endpoint is the primary's"
    );
    let table = server.cli_ok(&["get", "pair"]).await;
    assert!(table.contains("standbys:   2, synchronous"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("pair-2") && l.contains("standby") && l.contains("streaming")),
        "{table}"
    );

    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for member in ["pair-2", "pair-3"] {
        let series = format!(
            "toygres_replication_lag_bytes{{instance=\"pair\",member=\"{member}\",role=\"standby\"}}"
        );
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }

    let read_write = server.cli_ok(&["connection-string", "pair"]).await;
    let read_only = server
        .cli_ok(&["connection-string", "pair", "--read-only"])
        .await;
    let ask = "SELECT pg_is_in_recovery()";
    assert_eq!(psql(read_write.trim(), ask).unwrap(), "f", "the primary");
    assert_eq!(psql(read_only.trim(), ask).unwrap(), "t", "a standby");
    psql(
        read_write.trim(),
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)",
    )
    .unwrap();

    let members = view.members.clone();
    // The record's own directory: the name's link goes with the delete.
    let dir = std::fs::canonicalize(server.instance_data_dir("pair")).unwrap();
    let instance_dir = dir.parent().unwrap().to_path_buf();
    assert!(!postmasters_for(&instance_dir.join("members/3/data")).is_empty());
    server.cli_ok(&["delete", "pair", "--wait"]).await;
    for data in [
        dir,
        instance_dir.join("members/2/data"),
        instance_dir.join("members/3/data"),
    ] {
        assert!(postmasters_for(&data).is_empty(), "{data:?} still runs");
    }
    for member in members {
        assert!(!port_is_listening(member.port), "{} listens", member.name);
    }
}

/// `toygres-cli ARGS`, expected to fail: its one line of error.
async fn refused(server: &TestServer, args: &[&str]) -> String {
    let output = server.cli(args).await;
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).trim().to_string()
}

/// A switchover through the CLI: wrong requests are refused and change nothing; then the
/// primary moves to the standby, the former primary follows on the new timeline, the rows
/// are all there, the same connection string reaches the new primary, and the operation
/// is listed with its kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchover_moves_the_primary_and_the_connection_string_follows() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "moving", "--standbys", "1", "--sync", "--wait"])
        .await;
    server.cli_ok(&["create", "solo", "--wait"]).await;
    let read_write = server.cli_ok(&["connection-string", "moving"]).await;
    let read_write = read_write.trim();
    psql(
        read_write,
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)",
    )
    .unwrap();
    streaming(&server, "moving").await;

    let unknown = refused(&server, &["switchover", "moving", "--to", "moving-9"]).await;
    assert!(unknown.contains("no member \"moving-9\""), "{unknown}");
    let primary = refused(&server, &["switchover", "moving", "--to", "moving-1"]).await;
    assert!(primary.contains("is the primary"), "{primary}");
    let alone = refused(&server, &["switchover", "solo"]).await;
    assert!(alone.contains("no standbys"), "{alone}");
    assert_eq!(get(&server, "moving").await.state.to_string(), "running");

    server
        .cli_ok(&["switchover", "moving", "--to", "moving-2", "--wait"])
        .await;
    let view = streaming(&server, "moving").await;
    let roles: Vec<_> = view
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.role, m.timeline))
        .collect();
    assert_eq!(
        roles,
        [
            ("moving-1", MemberRole::Standby, Some(2)),
            ("moving-2", MemberRole::Primary, Some(2)),
        ]
    );
    assert_eq!(
        view.endpoint.as_ref().map(|e| e.port),
        Some(view.members[1].port),
        "the record's endpoint is the new primary's"
    );
    assert_eq!(
        psql(
            read_write,
            "INSERT INTO orders VALUES (2) RETURNING pg_is_in_recovery()"
        )
        .unwrap()
        .lines()
        .next(),
        Some("f"),
        "the string given before the switchover writes to the new primary"
    );
    assert_eq!(
        psql(read_write, "SELECT count(*) FROM orders").unwrap(),
        "2"
    );
    let listed = server
        .cli_ok(&["operations", "list", "--kind", "switchover"])
        .await;
    assert!(
        listed
            .lines()
            .any(|l| l.contains("moving") && l.contains("completed")),
        "{listed}"
    );

    server.cli_ok(&["stop", "moving", "--wait"]).await;
    let stopped = refused(&server, &["switchover", "moving"]).await;
    assert!(stopped.contains("is stopped"), "{stopped}");
    server.cli_ok(&["start", "moving", "--wait"]).await;
    let started = streaming(&server, "moving").await;
    assert_eq!(
        started.members[1].role,
        MemberRole::Primary,
        "still moving-2"
    );
}

/// A standby whose server was killed is started again, and one whose data directory is
/// gone as well is cloned again, with no command: each streams from the primary and
/// serves its rows, and the primary never stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_standby_is_rebuilt_without_a_command() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "mended", "--standbys", "1", "--wait"])
        .await;
    streaming(&server, "mended").await;
    let read_write = server.cli_ok(&["connection-string", "mended"]).await;
    let read_only = server
        .cli_ok(&["connection-string", "mended", "--read-only"])
        .await;
    psql(
        read_write.trim(),
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)",
    )
    .unwrap();
    let primary_data = std::fs::canonicalize(server.instance_data_dir("mended")).unwrap();
    let standby_data = primary_data.parent().unwrap().join("members/2/data");
    let primary = postmasters_for(&primary_data);

    let killed = postmasters_for(&standby_data)[0];
    kill9(killed);
    let back = rebuilt(&server, &standby_data, killed).await;
    assert_eq!(
        psql(
            read_only.trim(),
            "SELECT pg_is_in_recovery(), count(*) FROM orders"
        )
        .unwrap(),
        "t|2",
        "started again, a standby with the primary's rows"
    );

    std::fs::remove_dir_all(&standby_data).unwrap();
    kill9(back);
    rebuilt(&server, &standby_data, back).await;
    psql(read_write.trim(), "INSERT INTO orders VALUES (3)").unwrap();
    // Asynchronous: the standby replays the row a moment after the primary commits it.
    toygres_test_support::eventually(
        "cloned again, a standby that follows the primary",
        Duration::from_secs(10),
        || async {
            let seen = psql(
                read_only.trim(),
                "SELECT pg_is_in_recovery(), count(*) FROM orders",
            )
            .ok()?;
            (seen == "t|3").then_some(())
        },
    )
    .await;
    assert_eq!(
        postmasters_for(&primary_data),
        primary,
        "the primary ran on"
    );
    assert!(server.log().contains("standbys down"));
    server.cli_ok(&["delete", "mended", "--wait"]).await;
}

fn kill9(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
}

/// Waits until the standby in `data` runs under a postmaster other than `killed` and
/// streams again; returns its postmaster.
async fn rebuilt(server: &TestServer, data: &std::path::Path, killed: i32) -> i32 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let running: Vec<i32> = postmasters_for(data)
            .into_iter()
            .filter(|pid| *pid != killed)
            .collect();
        if let [pid] = running[..] {
            let view = get(server, "mended").await;
            if view
                .members
                .iter()
                .any(|m| m.name == "mended-2" && m.state == MemberState::Streaming)
            {
                return pid;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the standby was not rebuilt: {:?}",
            get(server, "mended").await.members
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
