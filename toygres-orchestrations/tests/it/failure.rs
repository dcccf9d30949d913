//! Creates that cannot finish: they end `failed` or `deleted`, with nothing left running.

use std::collections::HashSet;
use std::time::Duration;
use toygres_test_support::eventually;

use duroxide::{Event, EventKind, OrchestrationStatus};
use toygres_cms::instances::CmsError;
use toygres_cms::{self as cms, InstanceState};
use toygres_domain::PostgresVersion;
use toygres_orchestrations::names;
use toygres_orchestrations::types::DeleteInstanceOutput;
use toygres_platform::local::binaries::PgBinaries;
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, failure_message, spec, transitions};
use toygres_test_support::processes::{postmasters_for, working_in};

fn a_version_that_is_not_installed() -> PostgresVersion {
    let binaries = PgBinaries::discover(None).unwrap();
    (13..=18)
        .find(|major| binaries.for_major(*major).is_err())
        .map(|major| PostgresVersion::new(major).unwrap())
        .expect("some supported version is not installed here")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uninstalled_version_fails_cleanly_and_keeps_the_error() {
    let cp = TestControlPlane::start().await;
    let mut spec = spec("ghost");
    spec.postgres_version = a_version_that_is_not_installed();
    let input = cp.reserve("create-ghost", &spec).await;
    cp.start_create("create-ghost", input).await;
    let status = cp.wait("create-ghost", Duration::from_secs(60)).await;
    let message = failure_message(&status);
    let expected = format!("PostgreSQL {} is not installed", spec.postgres_version);
    assert!(message.contains(&expected), "{message}");

    let record = cms::instances::find_live(&cp.db.pool, "ghost")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Failed);
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains(&expected),
        "{record:?}"
    );
    let events: Vec<InstanceState> = transitions(&cp.db.pool, record.id).await;
    assert_eq!(events, [InstanceState::Creating, InstanceState::Failed]);
    assert!(
        !cp.platform.instance_dir(&spec.name).exists(),
        "nothing on disk"
    );

    // The user then deletes the failed instance, which frees the name.
    cp.start_delete("delete-ghost", record.id, &spec.name).await;
    let _: DeleteInstanceOutput =
        completed_output(&cp.wait("delete-ghost", Duration::from_secs(60)).await);
    assert!(
        cms::instances::find_live(&cp.db.pool, "ghost")
            .await
            .unwrap()
            .is_none()
    );
    cp.shutdown().await;
}

/// A platform that hangs (here a frozen `initdb`, as on a stuck disk) ends the create at
/// its deadline: the frozen work is killed, the record lets go, the create fails with
/// the reason, and a delete then finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_deploy_ends_the_create_at_its_deadline_and_a_delete_wins() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let cp = TestControlPlane::start().await;
    let spec = spec("frozen");
    let mut input = cp.reserve("create-frozen", &spec).await;
    input.readiness_timeout_secs = 15;
    let record_id = input.record_id;
    cp.start_create("create-frozen", input).await;
    let dir = cp.platform.instance_dir(&spec.name);
    let initdb = eventually("initdb to start", Duration::from_secs(30), || async {
        working_in("initdb", &dir).first().copied()
    })
    .await;
    kill(Pid::from_raw(initdb), Signal::SIGSTOP).expect("freeze initdb");

    let status = cp.wait("create-frozen", Duration::from_secs(90)).await;
    let message = failure_message(&status);
    assert!(
        message.contains("did not finish deploying frozen within 15s"),
        "{message}"
    );
    assert!(
        working_in("initdb", &dir).is_empty(),
        "the frozen initdb is killed"
    );
    let record = cms::instances::get(&cp.db.pool, record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Failed);

    cp.start_delete("delete-frozen", record_id, &spec.name)
        .await;
    let _: DeleteInstanceOutput =
        completed_output(&cp.wait("delete-frozen", Duration::from_secs(60)).await);
    assert!(!dir.exists(), "nothing on disk");
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_live_instance_with_the_same_name_is_refused_and_changes_nothing() {
    let cp = TestControlPlane::start().await;
    let mut spec = spec("dup");
    spec.postgres_version = a_version_that_is_not_installed();
    let input = cp.reserve("create-dup-1", &spec).await;
    cp.start_create("create-dup-1", input).await;
    failure_message(&cp.wait("create-dup-1", Duration::from_secs(60)).await);
    let first = cms::instances::find_live(&cp.db.pool, "dup")
        .await
        .unwrap()
        .unwrap();

    // The reservation (the API's, before any orchestration starts) refuses the name.
    let second = cms::instances::reserve(&cp.db.pool, &spec, "local", "create-dup-2").await;
    assert!(
        matches!(&second, Err(CmsError::NameTaken(name)) if name == "dup"),
        "{second:?}"
    );
    let after = cms::instances::find_live(&cp.db.pool, "dup")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.id, first.id);
    assert_eq!(
        after.state,
        InstanceState::Failed,
        "the first record was not touched"
    );
    assert_eq!(
        cms::instances::list_all(&cp.db.pool).await.unwrap().len(),
        1
    );
    cp.shutdown().await;
}

/// Deletes an instance at several moments of its creation; every time, nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_instance_while_it_is_created_leaves_nothing_running() {
    let cp = TestControlPlane::start().await;
    for (round, wait_for_directory) in [(0, false), (1, true)] {
        let name = format!("race-{round}");
        let spec = spec(&name);
        let create_id = format!("create-{name}");
        let input = cp.reserve(&create_id, &spec).await;
        cp.start_create(&create_id, input).await;
        let record = wait_for_record(&cp, &name).await;
        if wait_for_directory {
            let data = cp.platform.instance_dir(&spec.name).join("data");
            eventually("the data directory", Duration::from_secs(30), || async {
                data.exists().then_some(())
            })
            .await;
        }
        let delete_id = format!("delete-{name}");
        cp.start_delete(&delete_id, record.id, &spec.name).await;
        let _: DeleteInstanceOutput =
            completed_output(&cp.wait(&delete_id, Duration::from_secs(60)).await);
        let create = cp.wait(&create_id, Duration::from_secs(60)).await;
        if let OrchestrationStatus::Completed { .. } = create {
            // The create won the race; its actor must notice the delete and stop.
            let actor = names::instance_ids::instance_actor(record.id);
            cp.wait(&actor, Duration::from_secs(30)).await;
        } else {
            // The create lost: it says why, not which connection failed on the way.
            assert_eq!(
                failure_message(&create),
                format!("instance {name} was deleted while it was being created"),
                "round {round}"
            );
        }
        // Every orchestration of this round has ended. An activity one of them never
        // recorded the result of (queued, running, or abandoned as it ended) could still
        // act after we look; every activity finished, so what we see is final.
        assert_eq!(
            unfinished_activities(&cp).await,
            Vec::<String>::new(),
            "round {round}"
        );
        let data_dir = cp.platform.instance_dir(&spec.name).join("data");
        assert!(
            postmasters_for(&data_dir).is_empty(),
            "round {round}: a server still runs"
        );
        assert!(
            !cp.platform.instance_dir(&spec.name).exists(),
            "round {round}: files remain"
        );
        let after = cms::instances::get(&cp.db.pool, record.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.state, InstanceState::Deleted, "round {round}");
    }
    cp.shutdown().await;
}

/// The activities any orchestration scheduled without recording their result, as
/// `instance: activity`. A result is recorded only once its activity has finished.
async fn unfinished_activities(cp: &TestControlPlane) -> Vec<String> {
    let mut unfinished = Vec::new();
    for instance in cp.client.list_all_instances().await.unwrap() {
        for execution in cp.client.list_executions(&instance).await.unwrap() {
            let history = cp
                .client
                .read_execution_history(&instance, execution)
                .await
                .unwrap();
            unfinished.extend(
                unfinished_in(&history)
                    .into_iter()
                    .map(|activity| format!("{instance}: {activity}")),
            );
        }
    }
    unfinished
}

fn unfinished_in(history: &[Event]) -> Vec<String> {
    let finished: HashSet<u64> = history
        .iter()
        .filter(|event| {
            matches!(
                event.kind,
                EventKind::ActivityCompleted { .. } | EventKind::ActivityFailed { .. }
            )
        })
        .filter_map(|event| event.source_event_id)
        .collect();
    history
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ActivityScheduled { name, .. } if !finished.contains(&event.event_id) => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect()
}

async fn wait_for_record(cp: &TestControlPlane, name: &str) -> cms::instances::InstanceRecord {
    eventually("the CMS record", Duration::from_secs(5), || async {
        cms::instances::find_live(&cp.db.pool, name).await.unwrap()
    })
    .await
}
