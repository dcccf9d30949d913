//! A delete whose orchestration failed is not stuck: deleting again replaces it, and the
//! instance ends deleted with nothing running.

use toygres_domain::api::InstanceView;
use toygres_orchestrations::names;
use toygres_test_support::TestDatabase;
use toygres_test_support::control_plane::{duroxide_client, kill_orchestration};
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_again_replaces_a_failed_delete() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "sticky", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "sticky", "-o", "json"]).await).unwrap();
    let db = TestDatabase::connect(&server.database_url().await).await;
    let client = duroxide_client(&db.url).await;

    // Pin the delete at its first step by holding the record's row lock, then kill it.
    let mut lock = db.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM toygres_cms.instances WHERE id = $1 FOR UPDATE")
        .bind(view.id)
        .execute(&mut *lock)
        .await
        .unwrap();
    server.cli_ok(&["delete", "sticky"]).await;
    let delete_id = names::instance_ids::delete_instance(view.id);
    kill_orchestration(&client, &delete_id).await;
    lock.rollback().await.unwrap();

    let done = server
        .cli_ok(&["delete", "sticky", "--wait", "--timeout", "60"])
        .await;
    assert!(done.contains("sticky is deleted"), "{done}");
    assert!(server.log().contains("replacing a failed delete"));
    assert!(postmasters_for(&server.instance_data_dir("sticky")).is_empty());
}
