//! InstanceDeleted ends the instance actor whatever it is doing when the signal arrives:
//! checking health (probing or recording, both inside one step since 1.1.0), waiting for
//! a signal, or just after `continue_as_new`. Each phase is pinned with real means (a
//! stopped server, a held row lock, changes of health sent to it) before the signal is
//! sent.

use std::time::Duration;
use toygres_test_support::eventually;

use duroxide::{EventKind, OrchestrationStatus};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_cms::instances::Change;
use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::activity_types::WatchInput;
use toygres_orchestrations::domain::HealthStatus;
use toygres_orchestrations::names::{self, activities, events, orchestrations};
use toygres_orchestrations::types::v1_1::{CreateInstanceOutput, InstanceActorInput};
use toygres_orchestrations::types::{HealthChanged, InstanceActorOutput};
use toygres_platform::Platform;
use toygres_platform::Whose;
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, in_flight, kill_orchestration, spec};
use toygres_test_support::processes::postmasters_for;

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_deleted_ends_the_actor_at_every_point_of_its_cycle() {
    let cp = TestControlPlane::start_with_probe_timeout(PROBE_TIMEOUT).await;
    let spec = spec("watched");
    let mut create = cp.reserve("create", &spec).await;
    create.health_check_interval_secs = 3600;
    cp.start_create("create", create).await;
    let created: CreateInstanceOutput =
        completed_output(&cp.wait("create", Duration::from_secs(120)).await);
    let postmaster = postmasters_for(&cp.platform.instance_dir(&spec.name).join("data"))[0];
    let actor = |interval_secs: u64| InstanceActorInput {
        instance_id: created.record_id,
        name: spec.name.clone(),
        interval_secs,
        cycle: 0,
        incarnation: uuid::Uuid::new_v4().to_string(),
    };

    // While it probes: the server is frozen, so the probe hangs until its timeout.
    kill(Pid::from_raw(postmaster), Signal::SIGSTOP).unwrap();
    start_actor(&cp, "probing", actor(3600)).await;
    cp.wait_for_history("probing", |h| in_flight(h, activities::CHECK_HEALTH))
        .await;
    signal(&cp, "probing").await;
    kill(Pid::from_raw(postmaster), Signal::SIGCONT).unwrap();
    assert_eq!(
        ended(&cp, "probing").await,
        InstanceActorOutput::DeletedSignal { cycle: 0 }
    );

    // While it records: the test holds the instance row's lock.
    let mut lock = cp.db.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM toygres_cms.instances WHERE id = $1 FOR UPDATE")
        .bind(created.record_id)
        .execute(&mut *lock)
        .await
        .unwrap();
    start_actor(&cp, "recording", actor(3600)).await;
    cp.wait_for_history("recording", |h| in_flight(h, activities::CHECK_HEALTH))
        .await;
    signal(&cp, "recording").await;
    lock.rollback().await.unwrap();
    assert_eq!(
        ended(&cp, "recording").await,
        InstanceActorOutput::DeletedSignal { cycle: 0 }
    );

    // While it waits for a signal, its check done.
    start_actor(&cp, "waiting", actor(3600)).await;
    cp.wait_for_history("waiting", |h| {
        h.iter()
            .any(|e| matches!(e.kind, EventKind::ActivityCompleted { .. }))
    })
    .await;
    signal(&cp, "waiting").await;
    assert_eq!(
        ended(&cp, "waiting").await,
        InstanceActorOutput::DeletedSignal { cycle: 0 }
    );

    // Right after continue_as_new (every twenty changes of health): sent as soon as the
    // second execution exists.
    start_actor(&cp, "cycling", actor(3600)).await;
    let change = HealthChanged {
        from: HealthStatus::Healthy,
        to: HealthStatus::Unhealthy,
        reason: Some("connection refused".into()),
    };
    for _ in 0..20 {
        cp.client
            .enqueue_event(
                "cycling",
                events::HEALTH_CHANGED,
                serde_json::to_string(&change).unwrap(),
            )
            .await
            .unwrap();
    }
    eventually("a second execution", Duration::from_secs(30), || async {
        let executions = cp.client.list_executions("cycling").await.ok()?;
        (executions.len() >= 2).then_some(())
    })
    .await;
    signal(&cp, "cycling").await;
    match ended(&cp, "cycling").await {
        InstanceActorOutput::DeletedSignal { cycle } => assert!(cycle >= 1, "cycle {cycle}"),
        other => panic!("{other:?}"),
    }

    // Before it exists: duroxide drops events for instances that have not started, so the
    // actor relies on the record, which a delete moves to `deleting` before signalling.
    signal(&cp, "late").await;
    cms::instances::transition(
        &cp.db.pool,
        created.record_id,
        InstanceState::Deleting,
        &Change::default(),
        "test",
    )
    .await
    .unwrap();
    start_actor(&cp, "late", actor(3600)).await;
    assert_eq!(
        ended(&cp, "late").await,
        InstanceActorOutput::NoLongerRunning {
            cycle: 0,
            state: "deleting".into()
        }
    );

    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

async fn start_actor(cp: &TestControlPlane, id: &str, input: InstanceActorInput) {
    cp.client
        .start_orchestration_typed(id, orchestrations::INSTANCE_ACTOR, input)
        .await
        .unwrap();
}

async fn signal(cp: &TestControlPlane, id: &str) {
    cp.client
        .enqueue_event(id, events::INSTANCE_DELETED, "{}")
        .await
        .unwrap();
}

async fn ended(cp: &TestControlPlane, id: &str) -> InstanceActorOutput {
    completed_output(&cp.wait(id, Duration::from_secs(30)).await)
}

/// A start or restart whose watch step runs late finds the actor reconciliation started
/// meanwhile: never told to stop watching, it would not end. The step ends it at once and
/// starts its own, where it used to wait a minute for it, five times, and fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_watch_replaces_the_actor_reconciliation_started_at_once() {
    let cp = TestControlPlane::start_with_probe_timeout(PROBE_TIMEOUT).await;
    let spec = spec("late");
    let mut create = cp.reserve("create-late", &spec).await;
    create.health_check_interval_secs = 3600;
    cp.start_create("create-late", create).await;
    let created: CreateInstanceOutput =
        completed_output(&cp.wait("create-late", Duration::from_secs(120)).await);
    let actor_id = names::instance_ids::instance_actor(created.record_id);
    // As reconciliation does when the record is running and its actor is not.
    kill_orchestration(&cp.client, &actor_id).await;
    cp.client.delete_instance(&actor_id, true).await.unwrap();
    let reconcilers = InstanceActorInput {
        instance_id: created.record_id,
        name: spec.name.clone(),
        interval_secs: 3600,
        cycle: 0,
        incarnation: "reconciliation's".into(),
    };
    cp.client
        .start_orchestration_typed(&actor_id, orchestrations::INSTANCE_ACTOR, reconcilers)
        .await
        .unwrap();
    eventually(
        "reconciliation's actor running",
        Duration::from_secs(10),
        || async {
            let status = cp.client.get_orchestration_status(&actor_id).await.unwrap();
            matches!(status, OrchestrationStatus::Running { .. }).then_some(())
        },
    )
    .await;

    let watch = WatchInput {
        record_id: created.record_id,
        name: spec.name.clone(),
        interval_secs: 3600,
        incarnation: "the-restart".into(),
    };
    let (first, again): (String, String) = cp
        .run_activity_twice("watch-late", activities::WATCH_INSTANCE, &watch)
        .await;
    assert_eq!(
        (first.as_str(), again.as_str()),
        (actor_id.as_str(), actor_id.as_str())
    );
    let info = cp.client.get_instance_info(&actor_id).await.unwrap();
    let history = cp
        .client
        .read_execution_history(&actor_id, info.current_execution_id)
        .await
        .unwrap();
    let started_with = history.iter().find_map(|event| match &event.kind {
        EventKind::OrchestrationStarted { input, .. } => {
            serde_json::from_str::<InstanceActorInput>(input).ok()
        }
        _ => None,
    });
    assert_eq!(
        started_with.map(|input| input.incarnation).as_deref(),
        Some("the-restart")
    );
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}
