//! Two servers on one database share the work: every create completes once, every
//! instance has one actor, and when one server dies the other carries on.
//!
//! On the local platform the servers must share the instances directory (one machine),
//! so they share a data directory; across machines, the Kubernetes platform is the answer.

use toygres_cms as cms;
use toygres_domain::InstanceState;
use toygres_orchestrations::names;
use toygres_test_support::control_plane::{duroxide_client, transitions};
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};
use toygres_test_support::{TestDatabase, scratch};

const TOKEN: &str = "scale-out-test-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database() {
    let db = TestDatabase::create().await;
    let options = ServerOptions {
        data_dir: scratch::subdir("shared"),
        ..ServerOptions::external(&db.url, TOKEN)
    };
    let mut a = TestServer::start(options.clone()).await;
    let b = TestServer::start(options).await;

    let names = ["s0", "s1", "s2", "s3", "s4"];
    for (i, name) in names.iter().enumerate() {
        let through = if i % 2 == 0 { &a } else { &b };
        through.cli_ok(&["create", name]).await;
    }
    for name in names {
        b.cli_ok(&["wait", name, "--for", "running", "--timeout", "120"])
            .await;
    }

    let records = cms::instances::list_all(&db.pool).await.unwrap();
    assert_eq!(records.len(), 5);
    for record in &records {
        let states: Vec<InstanceState> = transitions(&db.pool, record.id).await;
        assert_eq!(
            states,
            [InstanceState::Creating, InstanceState::Running],
            "{}: each step ran once",
            record.name
        );
        assert_eq!(
            postmasters_for(&a.instance_data_dir(&record.name)).len(),
            1,
            "{}",
            record.name
        );
    }
    let client = duroxide_client(&db.url).await;
    let actors: Vec<String> = client
        .list_all_instances()
        .await
        .unwrap()
        .into_iter()
        .filter(|id| names::instance_ids::is_instance_actor(id))
        .collect();
    assert_eq!(actors.len(), 5, "one actor per instance: {actors:?}");
    for record in &records {
        let actor = record
            .actor_orchestration_id
            .as_deref()
            .expect("an actor id");
        assert!(actors.iter().any(|a| a == actor), "{actor}");
    }

    a.kill9().await;
    let deleted = b
        .cli_ok(&["delete", "s0", "--wait", "--timeout", "120"])
        .await;
    assert!(deleted.contains("s0 is deleted"), "{deleted}");
    assert!(postmasters_for(&b.instance_data_dir("s0")).is_empty());
    for name in &names[1..] {
        b.cli_ok(&["delete", name, "--wait", "--timeout", "120"])
            .await;
    }
}
