//! The health sweep probes the running fleet with no durable step per probe: a row per
//! instance per interval, however many servers sweep, and the instance actor's history
//! grows only when the instance's health changes (a frozen server, then thawed).

use std::time::Duration;

use duroxide::{Event, EventKind};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_cms as cms;
use toygres_domain::HealthStatus;
use toygres_orchestrations::health_sweep::HealthSweep;
use toygres_orchestrations::names::{events, instance_ids};
use toygres_orchestrations::types::HealthChanged;
use toygres_orchestrations::{Dependencies, Measures};
use toygres_platform::{Platform, Whose};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::spec;
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;
use uuid::Uuid;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_is_probed_every_interval_and_the_actor_keeps_only_the_changes() {
    let cp = TestControlPlane::start_with_probe_timeout(PROBE_TIMEOUT).await;
    let spec = spec("swept");
    let input = cp.reserve("create-swept", &spec).await;
    let record = input.record_id;
    cp.start_create("create-swept", input).await;
    cp.wait("create-swept", Duration::from_secs(120)).await;
    let actor = instance_ids::instance_actor(record);
    cp.wait_for_health(record, HealthStatus::Healthy, Duration::from_secs(30))
        .await;
    cp.wait_for_history(&actor, |h| h.len() >= 3).await;

    // A second server sweeping the same fleet: rows stay one per instance per interval.
    let second = tokio::spawn(
        HealthSweep::new(
            Dependencies::with_probe_timeout(
                cp.db.pool.clone(),
                cp.platform.clone(),
                Measures::none(),
                PROBE_TIMEOUT,
            ),
            cp.client.clone(),
            Duration::from_secs(1),
        )
        .run(),
    );
    let settled = cp.latest_history(&actor).await.len();
    let rows_before = rows(&cp, record).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let swept = rows(&cp, record).await - rows_before;
    assert!(
        (4..=7).contains(&swept),
        "one row a second from two sweeping servers: {swept}"
    );
    assert_eq!(
        cp.latest_history(&actor).await.len(),
        settled,
        "no durable step while the health stays the same"
    );

    // Frozen, then thawed: two changes, each kept in the actor's history.
    let postmaster = postmasters_for(&cp.platform.instance_dir(&spec.name).join("data"))[0];
    kill(Pid::from_raw(postmaster), Signal::SIGSTOP).unwrap();
    let unhealthy = cp
        .wait_for_health(record, HealthStatus::Unhealthy, Duration::from_secs(30))
        .await;
    kill(Pid::from_raw(postmaster), Signal::SIGCONT).unwrap();
    assert!(unhealthy.health_reason.is_some());
    cp.wait_for_health(record, HealthStatus::Healthy, Duration::from_secs(30))
        .await;
    let history = eventually(
        "both changes in the actor's history",
        Duration::from_secs(10),
        || async {
            let history = cp.latest_history(&actor).await;
            (changes_in(&history) == ["unhealthy", "healthy"]).then_some(history)
        },
    )
    .await;
    // Per change: the wait's three subscriptions, the delivery and two cancellations.
    assert!(
        history.len() <= settled + 2 * 6,
        "the history grew by the two changes only: {} -> {}",
        settled,
        history.len()
    );
    let kept: Vec<_> = cms::health::events(&cp.db.pool, record)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.from_status, event.to_status))
        .collect();
    assert_eq!(
        kept,
        [
            (HealthStatus::Healthy, HealthStatus::Unhealthy),
            (HealthStatus::Unhealthy, HealthStatus::Healthy)
        ],
        "each change recorded once, though two servers swept"
    );

    second.abort();
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

async fn rows(cp: &TestControlPlane, record: Uuid) -> usize {
    cms::health::history(&cp.db.pool, record, 10_000)
        .await
        .unwrap()
        .len()
}

/// The health each HealthChanged in `history` moved to, in order.
fn changes_in(history: &[Event]) -> Vec<String> {
    history
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::QueueEventDelivered { name, data } if name == events::HEALTH_CHANGED => {
                let change: HealthChanged = serde_json::from_str(data).ok()?;
                Some(change.to.to_string())
            }
            _ => None,
        })
        .collect()
}
