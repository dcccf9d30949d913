//! `kill -9` of the server while an instance is being created: started again on the same
//! data directory, it finishes the create, and exactly one PostgreSQL serves the instance;
//! and while one is being restored: a delete then ends the orphaned pgBackRest.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_test_support::eventually;
use toygres_test_support::eventually::eventually_every;
use toygres_test_support::processes::{pgbackrest_in, postmasters_for};
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_create_finishes_it_after_restart() {
    let mut server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "phoenix"]).await;
    // Kill it in the middle of the deploy: the instance directory exists, initdb runs.
    let instance_dir = server.options.data_dir.join("instances").join("phoenix");
    eventually("the deploy to start", Duration::from_secs(10), || async {
        instance_dir.exists().then_some(())
    })
    .await;
    server.kill9().await;

    server.restart().await;
    let done = server
        .cli_ok(&["wait", "phoenix", "--for", "running", "--timeout", "120"])
        .await;
    assert!(done.contains("phoenix is running"), "{done}");
    assert_eq!(
        postmasters_for(&server.instance_data_dir("phoenix")).len(),
        1,
        "exactly one server process for the instance"
    );
    let list = server.cli_ok(&["list"]).await;
    assert_eq!(
        list.lines().filter(|l| l.starts_with("phoenix ")).count(),
        1,
        "{list}"
    );
    server.cli_ok(&["delete", "phoenix", "--wait"]).await;
}

/// `kill -9` of the server while a restore copies orphans its pgBackRest (held still here,
/// so it outlives the server). Deleting the instance after the restart ends that
/// pgBackRest before it removes the directory: nothing keeps writing into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_ends_the_pgbackrest_a_killed_server_left_restoring() {
    let mut server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "source", "--wait"]).await;
    let backup: serde_json::Value = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "backup", "create", "source", "--wait"])
            .await,
    )
    .unwrap();
    let backup_id = backup["id"].as_str().expect("the backup's id");
    server
        .cli_ok(&["create", "copy", "--from-backup", backup_id])
        .await;
    let dir = server.options.data_dir.join("instances").join("copy");
    let orphans = eventually_every(
        "the restore's pgBackRest",
        Duration::from_secs(60),
        Duration::from_millis(5),
        || async {
            let pids = pgbackrest_in(&dir);
            (!pids.is_empty()).then_some(pids)
        },
    )
    .await;
    for pid in &orphans {
        kill(Pid::from_raw(*pid), Signal::SIGSTOP).unwrap();
    }
    // The record's own directory, which the name links to while it lives.
    let dir = std::fs::canonicalize(&dir).unwrap();
    server.kill9().await;

    server.restart().await;
    server.cli_ok(&["delete", "copy", "--wait"]).await;
    let left = pgbackrest_in(&dir);
    for pid in &left {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    assert!(
        left.is_empty(),
        "pgBackRest still works in the deleted instance: {left:?}"
    );
    assert!(!dir.exists(), "{} is left", dir.display());
    server.cli_ok(&["delete", "source", "--wait"]).await;
}
