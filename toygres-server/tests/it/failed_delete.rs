//! A delete whose orchestration failed is not stuck: deleting again replaces it, and the
//! instance ends deleted with nothing running.

use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_again_replaces_a_failed_delete() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "sticky", "--wait"]).await;
    server.fail_a_delete("sticky").await;

    let done = server
        .cli_ok(&["delete", "sticky", "--wait", "--timeout", "60"])
        .await;
    assert!(done.contains("sticky is deleted"), "{done}");
    assert!(server.log().contains("replaced a failed delete"));
    assert!(postmasters_for(&server.instance_data_dir("sticky")).is_empty());
}
