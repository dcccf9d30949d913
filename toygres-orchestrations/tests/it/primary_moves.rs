//! The control plane killed at every step of a switchover and of a failover: the node
//! started after it finishes each once, with one primary and every member on the next
//! timeline (a step done twice would promote twice and skip a timeline; one left undone
//! would leave two primaries or a member behind). Each round crashes the node while the
//! round's `move-primary` step is in flight, the worker lock of the crashed node then
//! keeping it for a few seconds.

use std::time::Duration;

use duroxide::{Event, EventKind, OrchestrationStatus};
use toygres_cms::InstanceState;
use toygres_domain::{InstanceName, MemberRole, MemberState, Standbys};
use toygres_orchestrations::activity_types::MovePrimaryInput;
use toygres_orchestrations::names::instance_ids::RecordOperation;
use toygres_orchestrations::names::{activities, orchestrations};
use toygres_platform::local::LocalPlatform;
use toygres_platform::{Member, Platform, Whose};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::spec;
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;

/// switchover-instance's platform steps: choose, stop the primary, promote, rejoin.
const SWITCHOVER_STEPS: usize = 4;
/// failover-instance's: confirm, fence, choose, promote, rejoin.
const FAILOVER_STEPS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_step_of_a_switchover_or_a_failover_finishes_it_once() {
    let mut cp = TestControlPlane::start().await;
    let mut spec = spec("moving");
    spec.standbys = Standbys::new(1, true).unwrap();
    let name = spec.name.clone();
    let input = cp.reserve("create-moving", &spec).await;
    let record = input.record_id;
    cp.start_create("create-moving", input).await;
    let created = cp.wait("create-moving", Duration::from_secs(180)).await;
    assert!(
        matches!(created, OrchestrationStatus::Completed { .. }),
        "{created:?}"
    );
    let mut timeline = settled(&cp, &name, 1).await;

    for nth in 1..=SWITCHOVER_STEPS {
        let id = cp
            .start_operation(
                RecordOperation::Switchover,
                orchestrations::SWITCHOVER_INSTANCE,
                InstanceState::SwitchingOver,
                record,
                &name,
            )
            .await;
        let step = crash_during_step(&mut cp, &id, nth).await;
        eprintln!("switchover: the node crashed during step {nth} ({step})");
        timeline = settled(&cp, &name, timeline + 1).await;
        assert_eq!(cp.record(record).await.state, InstanceState::Running);
    }

    for nth in 1..=FAILOVER_STEPS {
        kill_the_primary(&cp, &name).await;
        let id = cp
            .start_operation(
                RecordOperation::Failover,
                orchestrations::FAILOVER_INSTANCE,
                InstanceState::FailingOver,
                record,
                &name,
            )
            .await;
        let step = crash_during_step(&mut cp, &id, nth).await;
        eprintln!("failover: the node crashed during step {nth} ({step})");
        timeline = settled(&cp, &name, timeline + 1).await;
        assert_eq!(cp.record(record).await.state, InstanceState::Running);
    }

    cp.platform.delete(&name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

/// Crashes the node while the `nth` move-primary step of operation `id` is in flight,
/// starts a new one, and waits for the operation to complete; returns the step that was
/// in flight.
async fn crash_during_step(cp: &mut TestControlPlane, id: &str, nth: usize) -> String {
    let history = eventually_history(cp, id, nth).await;
    cp.crash();
    cp.restart().await;
    let done = cp.wait(id, Duration::from_secs(180)).await;
    assert!(
        matches!(done, OrchestrationStatus::Completed { .. }),
        "{id}: {done:?}"
    );
    history
        .iter()
        .rev()
        .find_map(|event| match &event.kind {
            EventKind::ActivityScheduled { name, input, .. }
                if name == activities::MOVE_PRIMARY =>
            {
                serde_json::from_str::<MovePrimaryInput>(input)
                    .ok()
                    .map(|step| format!("{:?}", step.step))
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// The history of `id` once its `nth` move-primary step (or a later one) is in flight.
async fn eventually_history(cp: &TestControlPlane, id: &str, nth: usize) -> Vec<Event> {
    let ready = |history: &[Event]| {
        let steps: Vec<u64> = history
            .iter()
            .filter(|event| {
                matches!(&event.kind, EventKind::ActivityScheduled { name, .. }
                    if name == activities::MOVE_PRIMARY)
            })
            .map(|event| event.event_id)
            .collect();
        let last_in_flight = steps.last().is_some_and(|last| {
            !history.iter().any(|event| {
                event.source_event_id == Some(*last)
                    && matches!(
                        event.kind,
                        EventKind::ActivityCompleted { .. } | EventKind::ActivityFailed { .. }
                    )
            })
        });
        steps.len() >= nth && last_in_flight
    };
    cp.wait_for_history(id, ready).await;
    cp.latest_history(id).await
}

/// Waits until the instance has one primary, every standby streams from it and every
/// member is on `timeline`; returns the timeline.
async fn settled(cp: &TestControlPlane<LocalPlatform>, name: &InstanceName, timeline: u32) -> u32 {
    let members = eventually(
        &format!("one primary, every member on timeline {timeline}"),
        Duration::from_secs(60),
        || async {
            let members = cp.platform.members(name).await.ok()?;
            let primaries = members
                .iter()
                .filter(|m| m.role == MemberRole::Primary)
                .count();
            let streaming = members
                .iter()
                .filter(|m| m.role == MemberRole::Standby)
                .all(|m| m.state == MemberState::Streaming);
            let on_it = members.iter().all(|m| m.timeline == Some(timeline));
            (primaries == 1 && streaming && on_it).then_some(members)
        },
    )
    .await;
    assert!(
        members.iter().all(|m| m.timeline <= Some(timeline)),
        "no member went past timeline {timeline}: {members:?}"
    );
    timeline
}

/// kill -9 of the primary's postmaster.
async fn kill_the_primary(cp: &TestControlPlane<LocalPlatform>, name: &InstanceName) {
    let members = cp.platform.members(name).await.unwrap();
    let primary: &Member = members
        .iter()
        .find(|m| m.role == MemberRole::Primary)
        .expect("a primary");
    let dir = cp.platform.instance_dir(name);
    let data = match primary.number {
        1 => dir.join("data"),
        n => dir.join(format!("members/{n}/data")),
    };
    for pid in postmasters_for(&data) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
}
