//! `kill -9` of the server while an instance is being created: started again on the same
//! data directory, it finishes the create, and exactly one PostgreSQL serves the instance.

use std::time::Duration;
use toygres_test_support::eventually;

use toygres_test_support::processes::postmasters_for;
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
