//! A control plane that dies in the middle of create-instance loses nothing and repeats no
//! side effect: a new node on the same store finishes the job with one server process.

use std::time::Duration;
use toygres_test_support::eventually;

use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::names;
use toygres_orchestrations::types::v1_1::CreateInstanceOutput;
use toygres_platform::Platform;
use toygres_platform::Whose;
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, scheduled, spec, transitions};
use toygres_test_support::processes::postmasters_for;

/// Where in create-instance the node dies.
#[derive(Debug, Clone, Copy)]
enum CrashPoint {
    /// The provision activity is in history but no worker has run it yet, or it just began.
    DeployScheduled,
    /// The provision activity is running: the instance directory exists, initdb is at work.
    DeployRunning,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_interrupted_when_deploy_is_scheduled_completes_after_restart() {
    crash_and_recover("phoenix-a", CrashPoint::DeployScheduled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_interrupted_in_the_middle_of_deploy_completes_after_restart() {
    crash_and_recover("phoenix-b", CrashPoint::DeployRunning).await;
}

async fn crash_and_recover(name: &str, point: CrashPoint) {
    let mut cp = TestControlPlane::start().await;
    let spec = spec(name);
    let create_id = format!("create-{name}");
    let input = cp.reserve(&create_id, &spec).await;
    cp.start_create(&create_id, input).await;

    cp.wait_for_history(&create_id, |history| {
        scheduled(history, names::activities::PROVISION_INSTANCE)
    })
    .await;
    if let CrashPoint::DeployRunning = point {
        let dir = cp.platform.instance_dir(&spec.name);
        eventually(
            "the instance directory",
            Duration::from_secs(30),
            || async { dir.exists().then_some(()) },
        )
        .await;
    }
    cp.crash();
    let record = cms::instances::find_live(&cp.db.pool, name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Creating, "{point:?}");

    cp.restart().await;
    let created: CreateInstanceOutput =
        completed_output(&cp.wait(&create_id, Duration::from_secs(120)).await);
    assert_eq!(
        created.record_id, record.id,
        "the same record, not a second one"
    );

    let data_dir = cp.platform.instance_dir(&spec.name).join("data");
    assert_eq!(
        postmasters_for(&data_dir).len(),
        1,
        "{point:?}: exactly one server process"
    );
    let records = cms::instances::list_all(&cp.db.pool).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state, InstanceState::Running);
    let events: Vec<InstanceState> = transitions(&cp.db.pool, record.id).await;
    assert_eq!(
        events,
        [InstanceState::Creating, InstanceState::Running],
        "no transition was repeated"
    );

    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}
