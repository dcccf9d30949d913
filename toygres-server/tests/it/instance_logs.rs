//! `toygres-cli logs`: an instance's own PostgreSQL server log through the real server,
//! its tail, what a time window keeps, a follow that shows lines as the server writes
//! them, and nothing of another instance's log.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use toygres_test_support::psql::psql;
use toygres_test_support::server::{ServerOptions, TestServer};

/// Writes `marker` into the server log of `name`, as its tenant can (`RAISE LOG`).
pub(crate) async fn log_marker(server: &TestServer, name: &str, marker: &str) {
    let url = server.cli_ok(&["connection-string", name]).await;
    let sql = format!("DO $$ BEGIN RAISE LOG '{marker}'; END $$");
    psql(url.trim(), &sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_log_is_tailed_windowed_and_followed_and_only_its_own() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "shop", "--wait"]).await;
    server.cli_ok(&["create", "other", "--wait"]).await;
    log_marker(&server, "shop", "marker-of-shop").await;
    log_marker(&server, "other", "marker-of-other").await;

    let tail = server.cli_ok(&["logs", "shop"]).await;
    assert!(tail.contains("marker-of-shop"), "{tail}");
    assert!(
        !tail.contains("marker-of-other"),
        "another instance's log: {tail}"
    );
    let last = server.cli_ok(&["logs", "shop", "--tail", "1"]).await;
    assert_eq!(last.lines().count(), 1, "{last}");
    let recent = server.cli_ok(&["logs", "shop", "--since", "10m"]).await;
    assert!(recent.contains("marker-of-shop"), "{recent}");
    assert!(
        recent.lines().count() <= tail.lines().count().max(1) + 5,
        "a window is no more than the log"
    );

    let mut follow = server.cli_spawn(&["logs", "shop", "--follow", "--tail", "1"]);
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    lines.next_line().await.unwrap().expect("the tail first");
    log_marker(&server, "shop", "marker-while-following").await;
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("marker-while-following") {
                return line;
            }
        }
        panic!("the follow ended");
    })
    .await
    .expect("the follow shows a new line within 10 s");
    assert!(seen.contains("LOG:"), "{seen}");
    follow.kill().await.unwrap();

    let zero = server.cli(&["logs", "shop", "--tail", "0"]).await;
    assert_eq!(zero.status.code(), Some(2), "{zero:?}");
    let missing = server.cli(&["logs", "nosuch"]).await;
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    server.cli_ok(&["delete", "shop", "--wait"]).await;
    server.cli_ok(&["delete", "other", "--wait"]).await;
}
