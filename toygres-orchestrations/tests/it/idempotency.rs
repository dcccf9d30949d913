//! Every activity, run twice with the same input (as duroxide may after a crash or a lock
//! timeout), has the effect of running once: the steps of 1.0.0 (still registered, for
//! orchestrations that started on it) and those of 1.1.0.

use std::time::Duration;
use toygres_test_support::eventually;

use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::activity_types::{
    CheckHealthInput, DeployInstanceInput, DestroyInstanceInput, FencedOutcome, InstanceRef,
    MarkFailedInput, MarkRunningInput, ProbeResult, ProvisionInstanceInput, ProvisionOutcome,
    PruneHistoryInput, PruneReport, RecordHealthInput, RecordHealthOutput, ReserveInstanceInput,
    ReserveInstanceOutput, TestConnectionOutput, TransitionOutcome, WarmPoolReport,
};
use toygres_orchestrations::names::{activities, instance_ids, orchestrations};
use toygres_orchestrations::types::{InstanceActorInput, InstanceActorOutput};
use toygres_platform::{Endpoint, InstanceStatus, Login, Platform};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, spec, transitions};
use toygres_test_support::processes::postmasters_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_activity_run_twice_has_one_effect() {
    let cp = TestControlPlane::start_without_health_sweep().await;
    let spec = spec("twin");
    let pool = &cp.db.pool;

    let (a, b): (ReserveInstanceOutput, ReserveInstanceOutput) = cp
        .run_activity_twice(
            "reserve",
            activities::CMS_RESERVE_INSTANCE,
            &ReserveInstanceInput { spec: spec.clone() },
        )
        .await;
    assert_eq!(a, b, "a re-run returns the same record");
    let id = a.instance_id;
    assert_eq!(cms::instances::list_all(pool).await.unwrap().len(), 1);
    assert_eq!(
        transitions(&cp.db.pool, id).await,
        [InstanceState::Creating]
    );
    let instance = InstanceRef {
        instance_id: id,
        name: spec.name.clone(),
    };

    let deploy = DeployInstanceInput {
        instance_id: id,
        spec: spec.clone(),
    };
    let (a, b): (FencedOutcome, FencedOutcome) = cp
        .run_activity_twice("deploy-1", activities::DEPLOY_INSTANCE, &deploy)
        .await;
    assert_eq!((a, b), (FencedOutcome::Done, FencedOutcome::Done));
    let password = cp
        .platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();
    let endpoint_before = cp.platform.endpoint(&spec.name).await.unwrap();
    let _: (FencedOutcome, FencedOutcome) = cp
        .run_activity_twice("deploy-2", activities::DEPLOY_INSTANCE, &deploy)
        .await;
    assert_eq!(
        cp.platform
            .credentials(&spec.name, Login::Owner)
            .await
            .unwrap(),
        password,
        "password kept"
    );
    assert_eq!(
        cp.platform.endpoint(&spec.name).await.unwrap(),
        endpoint_before,
        "port kept"
    );
    let data_dir = cp.platform.instance_dir(&spec.name).join("data");
    assert_eq!(
        postmasters_for(&data_dir).len(),
        1,
        "one server after four deploys"
    );

    wait_until_ready(&cp, &spec.name).await;
    let (a, b): (InstanceStatus, InstanceStatus) = cp
        .run_activity_twice("status", activities::GET_INSTANCE_STATUS, &instance)
        .await;
    assert_eq!((a, b), (InstanceStatus::Ready, InstanceStatus::Ready));

    let (endpoint, again): (Endpoint, Endpoint) = cp
        .run_activity_twice("endpoint", activities::GET_INSTANCE_ENDPOINT, &instance)
        .await;
    assert_eq!(endpoint, again);

    let (a, b): (TestConnectionOutput, TestConnectionOutput) = cp
        .run_activity_twice("test-connection", activities::TEST_CONNECTION, &instance)
        .await;
    assert!(matches!(a, TestConnectionOutput::Connected { .. }), "{a:?}");
    assert!(matches!(b, TestConnectionOutput::Connected { .. }), "{b:?}");

    let running = MarkRunningInput {
        instance_id: id,
        endpoint: endpoint.clone(),
        actor_orchestration_id: instance_ids::instance_actor(id),
    };
    let outcomes: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice("mark-running", activities::CMS_MARK_RUNNING, &running)
        .await;
    assert_applied_then_no_op(outcomes, InstanceState::Creating);
    assert_eq!(
        transitions(&cp.db.pool, id).await,
        [InstanceState::Creating, InstanceState::Running]
    );

    let (a, b): (ProbeResult, ProbeResult) = cp
        .run_activity_twice("probe", activities::PROBE_HEALTH, &instance)
        .await;
    assert!(a.ok && b.ok, "{a:?} {b:?}");

    let record = RecordHealthInput {
        instance_id: id,
        checked_at_ms: 1_790_000_000_000,
        probe: a,
    };
    let (a, b): (RecordHealthOutput, RecordHealthOutput) = cp
        .run_activity_twice("record-health", activities::CMS_RECORD_HEALTH, &record)
        .await;
    assert_eq!(
        (a.state, b.state),
        (InstanceState::Running, InstanceState::Running)
    );
    assert_eq!(
        cms::health::history(pool, id, 10).await.unwrap().len(),
        1,
        "one health row"
    );

    // An actor that receives InstanceDeleted twice ends once, normally.
    let actor = instance_ids::instance_actor(id);
    let actor_input = InstanceActorInput {
        instance_id: id,
        name: spec.name.clone(),
        interval_secs: 3600,
        cycle: 0,
    };
    cp.client
        .start_orchestration_typed(&actor, orchestrations::INSTANCE_ACTOR, actor_input)
        .await
        .unwrap();
    cp.wait_for_history(&actor, |h| {
        h.iter()
            .any(|e| matches!(e.kind, duroxide::EventKind::ActivityCompleted { .. }))
    })
    .await;
    let _: ((), ()) = cp
        .run_activity_twice("signal", activities::SIGNAL_INSTANCE_DELETED, &instance)
        .await;
    let ended: InstanceActorOutput =
        completed_output(&cp.wait(&actor, Duration::from_secs(30)).await);
    assert_eq!(ended, InstanceActorOutput::DeletedSignal { cycle: 0 });

    let outcomes: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice("mark-deleting", activities::CMS_MARK_DELETING, &id)
        .await;
    assert_applied_then_no_op(outcomes, InstanceState::Running);

    let (a, b): (FencedOutcome, FencedOutcome) = cp
        .run_activity_twice(
            "delete-resources",
            activities::DELETE_INSTANCE_RESOURCES,
            &instance,
        )
        .await;
    assert_eq!(
        (a, b),
        (FencedOutcome::Done, FencedOutcome::Done),
        "deleting what is gone succeeds"
    );
    assert!(postmasters_for(&data_dir).is_empty());
    assert!(!cp.platform.instance_dir(&spec.name).exists());

    let outcomes: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice("mark-deleted", activities::CMS_MARK_DELETED, &id)
        .await;
    assert_applied_then_no_op(outcomes, InstanceState::Deleting);
    assert_eq!(
        transitions(&cp.db.pool, id).await,
        [
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Deleting,
            InstanceState::Deleted
        ]
    );

    // Once deleted, a late deploy or delete touches nothing: the name may be someone else's.
    let (late, _): (FencedOutcome, FencedOutcome) = cp
        .run_activity_twice("late-deploy", activities::DEPLOY_INSTANCE, &deploy)
        .await;
    assert_eq!(
        late,
        FencedOutcome::Skipped {
            state: InstanceState::Deleted
        }
    );
    assert!(
        !cp.platform.instance_dir(&spec.name).exists(),
        "a late deploy did not resurrect it"
    );
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_failed_twice_records_one_failure() {
    let cp = TestControlPlane::start().await;
    let (reserved, _): (ReserveInstanceOutput, ReserveInstanceOutput) = cp
        .run_activity_twice(
            "reserve",
            activities::CMS_RESERVE_INSTANCE,
            &ReserveInstanceInput {
                spec: spec("broken"),
            },
        )
        .await;
    let input = MarkFailedInput {
        instance_id: reserved.instance_id,
        error: "disk on fire".into(),
    };
    let outcomes: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice("mark-failed", activities::CMS_MARK_FAILED, &input)
        .await;
    assert_applied_then_no_op(outcomes, InstanceState::Creating);
    let record = cms::instances::get(&cp.db.pool, reserved.instance_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.last_error.as_deref(), Some("disk on fire"));
    assert_eq!(
        transitions(&cp.db.pool, reserved.instance_id).await,
        [InstanceState::Creating, InstanceState::Failed]
    );
    cp.shutdown().await;
}

async fn wait_until_ready(cp: &TestControlPlane, name: &toygres_domain::InstanceName) {
    eventually(
        "the instance to be ready",
        Duration::from_secs(30),
        || async {
            (cp.platform.status(name).await.unwrap() == InstanceStatus::Ready).then_some(())
        },
    )
    .await;
}

/// A transition run twice: applied the first time, a no-op the second.
fn assert_applied_then_no_op(
    outcomes: (TransitionOutcome, TransitionOutcome),
    from: InstanceState,
) {
    assert_eq!(
        outcomes,
        (
            TransitionOutcome::Applied { from },
            TransitionOutcome::AlreadyThere
        )
    );
}

/// The steps of create/delete/actor 1.1.0 and of the system orchestrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_since_1_1_0_run_twice_has_one_effect() {
    let cp = TestControlPlane::start_without_health_sweep().await;
    let spec = spec("twin-two");
    let pool = &cp.db.pool;
    let reserved = cp.reserve("create-twin-two", &spec).await;
    let id = reserved.record_id;

    let provision = ProvisionInstanceInput {
        record_id: id,
        spec: spec.clone(),
        readiness_timeout_secs: 60,
    };
    let (a, b): (ProvisionOutcome, ProvisionOutcome) = cp
        .run_activity_twice("provision", activities::PROVISION_INSTANCE, &provision)
        .await;
    let endpoint = cp.platform.endpoint(&spec.name).await.unwrap();
    for outcome in [&a, &b] {
        assert!(
            matches!(outcome, ProvisionOutcome::Ready { endpoint: e, .. } if *e == endpoint),
            "{outcome:?}"
        );
    }
    let data_dir = cp.platform.instance_dir(&spec.name).join("data");
    assert_eq!(postmasters_for(&data_dir).len(), 1, "one server");

    let running = MarkRunningInput {
        instance_id: id,
        endpoint,
        actor_orchestration_id: instance_ids::instance_actor(id),
    };
    let _: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice("mark-running", activities::CMS_MARK_RUNNING, &running)
        .await;

    let check = CheckHealthInput {
        record_id: id,
        name: spec.name.clone(),
        incarnation: "test".into(),
        cycle: 0,
    };
    let (a, b): (RecordHealthOutput, RecordHealthOutput) = cp
        .run_activity_twice("check", activities::CHECK_HEALTH, &check)
        .await;
    assert_eq!(
        (a.state, b.state),
        (InstanceState::Running, InstanceState::Running)
    );
    let rows = cms::health::history(pool, id, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "one health row for one execution");
    assert!(rows[0].ok);

    let instance = InstanceRef {
        instance_id: id,
        name: spec.name.clone(),
    };
    let outcomes: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice("begin-delete", activities::CMS_BEGIN_DELETE, &instance)
        .await;
    assert_applied_then_no_op(outcomes, InstanceState::Running);

    let destroy = DestroyInstanceInput {
        record_id: id,
        name: spec.name.clone(),
        mark_deleted: true,
    };
    let (a, b): (FencedOutcome, FencedOutcome) = cp
        .run_activity_twice("destroy", activities::DESTROY_INSTANCE, &destroy)
        .await;
    assert_eq!(a, FencedOutcome::Done);
    assert_eq!(
        b,
        FencedOutcome::Skipped {
            state: InstanceState::Deleted
        },
        "the second run finds the work done"
    );
    assert!(postmasters_for(&data_dir).is_empty());
    assert!(!cp.platform.instance_dir(&spec.name).exists());
    assert_eq!(
        transitions(pool, id).await,
        [
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Deleting,
            InstanceState::Deleted
        ]
    );

    // Once deleted, a late provision touches nothing: the name may be someone else's.
    let (late, _): (ProvisionOutcome, ProvisionOutcome) = cp
        .run_activity_twice("late-provision", activities::PROVISION_INSTANCE, &provision)
        .await;
    assert_eq!(
        late,
        ProvisionOutcome::Skipped {
            state: InstanceState::Deleted
        }
    );
    assert!(!cp.platform.instance_dir(&spec.name).exists());

    let (first, second): (WarmPoolReport, WarmPoolReport) = cp
        .run_activity_twice("fill", activities::FILL_WARM_POOL, &1u32)
        .await;
    assert_eq!((first.made, first.ready), (1, 1));
    assert_eq!(
        (second.made, second.ready),
        (0, 1),
        "a full pool is left alone"
    );

    let prune = PruneHistoryInput {
        keep_executions: 1,
        orchestration_retention_secs: 0,
        health_retention_secs: 0,
    };
    let (_, second): (PruneReport, PruneReport) = cp
        .run_activity_twice("prune", activities::PRUNE_HISTORY, &prune)
        .await;
    assert_eq!(second.health_checks_deleted, 0, "nothing left to trim");
    assert!(cms::health::history(pool, id, 10).await.unwrap().is_empty());
    cp.shutdown().await;
}
