//! While the server runs, a health actor that dies is replaced by the periodic
//! reconciliation: nobody has to restart anything for the instance to be watched again.

use std::time::Duration;
use toygres_test_support::eventually;

use duroxide::OrchestrationStatus;
use toygres_domain::api::InstanceView;
use toygres_test_support::control_plane::{duroxide_client, kill_orchestration};
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_actor_is_replaced_while_the_server_runs() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "watched", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "watched", "-o", "json"]).await).unwrap();
    let actor = view.actor_orchestration_id.expect("an actor");
    let client = duroxide_client(&server.database_url().await).await;

    kill_orchestration(&client, &actor).await;

    // Reconciliation acts once the record has been still for a while, then within a tick.
    eventually(
        "the dead actor replaced",
        Duration::from_secs(30),
        || async {
            let status = client.get_orchestration_status(&actor).await.unwrap();
            matches!(status, OrchestrationStatus::Running { .. }).then_some(())
        },
    )
    .await;
    assert!(server.log().contains("restarted the health actor"));
    server.cli_ok(&["delete", "watched", "--wait"]).await;
}
