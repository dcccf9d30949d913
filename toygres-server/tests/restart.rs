//! SIGTERM stops the server cleanly and leaves users' databases running; started again, it
//! lists them as running and keeps watching them.

use std::time::Duration;

use toygres_orchestrations::domain::api::InstanceList;
use toygres_test_support::TestDatabase;
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_survive_a_restart_and_are_still_watched() {
    let mut server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "steady", "--wait"]).await;
    let server_pid = server.pid().unwrap();

    let status = server.terminate().await;
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    let log = server.log();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("embedded database stopped"), "{log}");
    assert!(!std::path::Path::new(&format!("/proc/{server_pid}")).exists());
    assert_eq!(
        postmasters_for(&server.instance_data_dir("steady")).len(),
        1,
        "the user's database keeps running while the control plane is down"
    );

    server.restart().await;
    let list: InstanceList =
        serde_json::from_str(&server.cli_ok(&["list", "-o", "json"]).await).unwrap();
    assert_eq!(list.instances.len(), 1);
    assert_eq!(list.instances[0].state, "running");

    let db = TestDatabase::connect(&server.database_url().await).await;
    let at_restart = health_rows(&db).await;
    for _ in 0..100 {
        if health_rows(&db).await >= at_restart + 2 {
            server.cli_ok(&["delete", "steady", "--wait"]).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no new health checks after the restart:\n{}", server.log());
}

async fn health_rows(db: &TestDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM toygres_cms.health_checks")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}
