//! A fleet, not a demo: a burst of creates queues behind a single platform worker and
//! none fails for having waited; history and health rows stop growing once the pruner
//! runs.

use std::sync::Arc;
use std::time::Duration;

use duroxide::OrchestrationStatus;
use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::Dependencies;
use toygres_orchestrations::domain::HealthStatus;
use toygres_orchestrations::names::{events, instance_ids, orchestrations};
use toygres_orchestrations::types::{HealthChanged, HistoryPrunerInput};
use toygres_platform::Platform;
use toygres_platform::Whose;
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::PoolSizes;
use toygres_test_support::control_plane::spec;
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::scratch;

const BURST: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_waits_behind_one_platform_worker_and_none_fails() {
    let binaries = PgBinaries::discover(None).unwrap();
    let platform = LocalPlatform::new(scratch::subdir("burst"), binaries).unwrap();
    let mut cp =
        TestControlPlane::idle_on(Arc::new(platform), Dependencies::DEFAULT_PROBE_TIMEOUT).await;
    cp.pools = PoolSizes {
        orchestrations: 2,
        workers: 1,
        platform_workers: 1,
        health_workers: 1,
    };
    cp.restart().await;

    // The last deploys wait far longer in the queue than the readiness timeout allows
    // for the work itself: only the work may count against it.
    let mut creates = Vec::new();
    for i in 0..BURST {
        let spec = spec(&format!("burst-{i}"));
        let id = format!("create-burst-{i}");
        let mut input = cp.reserve(&id, &spec).await;
        input.readiness_timeout_secs = 10;
        input.health_check_interval_secs = 3600;
        cp.start_create(&id, input.clone()).await;
        creates.push((id, input));
    }
    for (id, input) in &creates {
        let status = cp.wait(id, Duration::from_secs(300)).await;
        assert!(
            matches!(status, OrchestrationStatus::Completed { .. }),
            "{id}: {status:?}"
        );
        let record = cms::instances::get(&cp.db.pool, input.record_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.state, InstanceState::Running, "{id}");
    }

    for (i, (_, input)) in creates.iter().enumerate() {
        cp.start_delete(
            &format!("delete-burst-{i}"),
            input.record_id,
            &input.spec.name,
        )
        .await;
    }
    for (i, (_, input)) in creates.iter().enumerate() {
        let status = cp
            .wait(&format!("delete-burst-{i}"), Duration::from_secs(300))
            .await;
        assert!(matches!(status, OrchestrationStatus::Completed { .. }));
        let data_dir = cp.platform.instance_dir(&input.spec.name).join("data");
        assert!(
            postmasters_for(&data_dir).is_empty(),
            "burst-{i} still runs"
        );
    }
    assert!(
        cms::instances::list_live(&cp.db.pool)
            .await
            .unwrap()
            .is_empty(),
        "nothing left but history"
    );
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_health_rows_stop_growing_once_pruned() {
    let cp = TestControlPlane::start().await;
    cp.client
        .start_orchestration_typed(
            instance_ids::HISTORY_PRUNER,
            orchestrations::HISTORY_PRUNER,
            HistoryPrunerInput {
                interval_secs: 1,
                keep_executions: 2,
                orchestration_retention_secs: 2,
                health_retention_secs: 3,
                cycle: 0,
            },
        )
        .await
        .unwrap();
    let spec = spec("steady");
    let mut input = cp.reserve("create-steady", &spec).await;
    input.health_check_interval_secs = 1;
    cp.start_create("create-steady", input.clone()).await;
    cp.wait("create-steady", Duration::from_secs(60)).await;
    let actor = instance_ids::instance_actor(input.record_id);

    // Finished orchestrations go after their retention.
    eventually(
        "the finished create to be deleted",
        Duration::from_secs(30),
        || async {
            let status = cp
                .client
                .get_orchestration_status("create-steady")
                .await
                .ok()?;
            (status == OrchestrationStatus::NotFound).then_some(())
        },
    )
    .await;

    // An actor execution holds twenty changes of health (about 85 history rows); here it
    // is sent ten a second, so it continues as new every two seconds; the pruner keeps
    // two executions. Unpruned, the rows would pass the cap below after about 8 s and keep
    // growing. The health sweep writes a row a second.
    let flapping = tokio::spawn(flap(cp.client.clone(), actor.clone()));
    let mut samples = Vec::new();
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        samples.push((
            history_rows(&cp, &actor).await,
            health_rows(&cp, input.record_id).await,
        ));
    }
    flapping.abort();
    let executions = cp.client.list_executions(&actor).await.unwrap();
    assert!(
        *executions.last().unwrap() >= 3,
        "the actor kept cycling: {executions:?}"
    );
    // Two kept, and maybe one begun since the pruner's last pass.
    assert!(executions.len() <= 3, "executions kept: {executions:?}");
    assert!(
        samples.iter().all(|(history, _)| *history <= 340),
        "history rows: {samples:?}"
    );
    assert!(
        samples.iter().all(|(_, health)| *health <= 6),
        "health rows beyond the retention: {samples:?}"
    );
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

/// Tells `actor` of ten changes of health a second, until aborted.
async fn flap(client: duroxide::Client, actor: String) {
    let change = HealthChanged {
        from: HealthStatus::Healthy,
        to: HealthStatus::Degraded,
        reason: Some("the disk is 91% full".into()),
    };
    let payload = serde_json::to_string(&change).unwrap();
    loop {
        for _ in 0..10 {
            let _ = client
                .enqueue_event(&actor, events::HEALTH_CHANGED, payload.clone())
                .await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn history_rows(cp: &TestControlPlane, instance: &str) -> usize {
    let mut rows = 0;
    for execution in cp.client.list_executions(instance).await.unwrap() {
        rows += cp
            .client
            .read_execution_history(instance, execution)
            .await
            .unwrap()
            .len();
    }
    rows
}

async fn health_rows(cp: &TestControlPlane, record_id: uuid::Uuid) -> usize {
    cms::health::history(&cp.db.pool, record_id, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_pool_orchestration_refills_after_a_create_takes_one() {
    let cp = TestControlPlane::start().await;
    cp.client
        .start_orchestration_typed(
            toygres_orchestrations::names::instance_ids::WARM_POOL,
            toygres_orchestrations::names::orchestrations::WARM_POOL,
            toygres_orchestrations::types::WarmPoolInput {
                size: 1,
                interval_secs: 3600,
                cycle: 0,
            },
        )
        .await
        .unwrap();
    eventually("a warm directory", Duration::from_secs(60), || async {
        (cp.platform.warm_pool_ready() == 1).then_some(())
    })
    .await;
    let spec = spec("from-pool");
    let input = cp.reserve("create-from-pool", &spec).await;
    cp.start_create("create-from-pool", input).await;
    cp.wait("create-from-pool", Duration::from_secs(60)).await;
    // The claim woke the pool (its timer is an hour): a new generation made another.
    eventually("the pool to refill", Duration::from_secs(60), || async {
        let generations = cp
            .client
            .list_executions(toygres_orchestrations::names::instance_ids::WARM_POOL)
            .await
            .ok()?
            .len();
        (generations >= 2 && cp.platform.warm_pool_ready() == 1).then_some(())
    })
    .await;
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}
