//! SIGTERM stops the server cleanly and leaves users' databases running; started again, it
//! lists them as running and keeps watching them, replacing a health actor that died.

use std::time::Duration;
use toygres_domain::InstanceState;
use toygres_test_support::eventually;

use toygres_domain::api::{InstanceList, InstanceView};
use toygres_test_support::TestDatabase;
use toygres_test_support::control_plane::{duroxide_client, kill_orchestration};
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_survive_a_restart_and_are_still_watched() {
    let mut server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "steady", "--wait"]).await;
    server.cli_ok(&["create", "orphan", "--wait"]).await;
    let server_pid = server.pid().unwrap();

    // The actor of `orphan` dies (as after a permanent infrastructure failure).
    let client = duroxide_client(&server.database_url().await).await;
    let orphan: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "orphan", "-o", "json"]).await).unwrap();
    let actor = orphan.actor_orchestration_id.expect("an actor");
    kill_orchestration(&client, &actor).await;

    let status = server.terminate().await;
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    let log = server.log();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("embedded database stopped"), "{log}");
    assert!(!std::path::Path::new(&format!("/proc/{server_pid}")).exists());
    for name in ["steady", "orphan"] {
        assert_eq!(
            postmasters_for(&server.instance_data_dir(name)).len(),
            1,
            "{name}: users' databases keep running while the control plane is down"
        );
    }

    server.restart().await;
    let list: InstanceList =
        serde_json::from_str(&server.cli_ok(&["list", "-o", "json"]).await).unwrap();
    assert_eq!(list.instances.len(), 2);
    assert!(
        list.instances
            .iter()
            .all(|i| i.state == InstanceState::Running),
        "{list:?}"
    );
    // Both instances are watched again: each gets new health rows from the server's sweep,
    // and the dead actor is replaced by reconciliation once its record has settled.
    let db = TestDatabase::connect(&server.database_url().await).await;
    let at_restart = [
        health_rows(&db, "steady").await,
        health_rows(&db, "orphan").await,
    ];
    eventually(
        "new health checks of both instances",
        Duration::from_secs(30),
        || async {
            let now = [
                health_rows(&db, "steady").await,
                health_rows(&db, "orphan").await,
            ];
            (now[0] >= at_restart[0] + 2 && now[1] >= at_restart[1] + 2).then_some(())
        },
    )
    .await;
    eventually(
        "the dead actor replaced",
        Duration::from_secs(60),
        || async {
            let status = client.get_orchestration_status(&actor).await.ok()?;
            matches!(status, duroxide::OrchestrationStatus::Running { .. }).then_some(())
        },
    )
    .await;
    assert!(server.log().contains("restarted the health actor"));
    server.cli_ok(&["delete", "steady", "--wait"]).await;
    server.cli_ok(&["delete", "orphan", "--wait"]).await;
}

async fn health_rows(db: &TestDatabase, name: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM toygres_cms.health_checks h
         JOIN toygres_cms.instances i ON i.id = h.instance_id WHERE i.name = $1",
    )
    .bind(name)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}
