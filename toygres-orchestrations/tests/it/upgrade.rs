//! Upgrading the control plane while work is in flight, on histories recorded with the
//! old code (`tests/fixtures`, made by `record_the_1_0_0_fixtures` and
//! `record_the_1_1_0_fixture`):
//!
//! - a create-instance that 1.0.0 left half done finishes on 1.0.0 (its own steps, its own
//!   output), never on the newer version registered beside it;
//! - one that 1.1.0 left with its provision step in flight finishes on 1.1.0, not on 1.2.0;
//! - one that 1.2.0 left in flight in the release before owner roles and TLS (recorded
//!   there by `record_the_1_2_0_fixture`) finishes on 1.2.0 with this release's logins:
//!   an owner role, TLS, no superuser over TCP;
//! - an instance actor that runs 1.0.0 finishes its cycle on 1.0.0 and continues as the
//!   newest version at its `continue_as_new`;
//! - one that runs 1.1.0 (a durable step per probe) finishes its ten checks on 1.1.0 and
//!   continues as 1.2.0, which checks once and then records changes of health only.

use std::sync::Arc;
use std::time::Duration;
use toygres_test_support::eventually;

use duroxide::{Event, EventKind};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_cms::instances::{Change, InstanceRecord};
use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::Dependencies;
use toygres_orchestrations::activity_types::RecordHealthOutput;
use toygres_orchestrations::domain::HealthStatus;
use toygres_orchestrations::names::{activities, events, instance_ids, orchestrations, versions};
use toygres_orchestrations::types::v1_2::CreateInstanceInput as CreateInstanceInputV1_2;
use toygres_orchestrations::types::{
    CreateInstanceInput, CreateInstanceOutput, HealthChanged, InstanceActorInput,
    InstanceActorOutput, v1_1,
};
use toygres_platform::Whose;
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Login, Platform, Tls};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{
    completed_output, in_flight, scheduled, spec, transitions,
};
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::recorded::{RecordedHistory, fixtures_dir};
use toygres_test_support::scratch;

const CREATE_FIXTURE: &str = "create-instance-1.0.0-deploy-in-flight.json";
const ACTOR_FIXTURE: &str = "instance-actor-1.0.0-probe-in-flight.json";
const CREATE_1_1_0_FIXTURE: &str = "create-instance-1.1.0-provision-in-flight.json";
const CREATE_1_2_0_FIXTURE: &str = "create-instance-1.2.0-provision-in-flight.json";
const ACTOR_1_1_0_FIXTURE: &str = "instance-actor-1.1.0-between-checks.json";
/// Fixtures carry this in place of the CMS record id they were recorded with; a test
/// puts its own record's id there.
pub(crate) const RECORD_PLACEHOLDER: &str = "00000000-0000-4000-8000-00000000cafe";
const NAME: &str = "legacy";
/// The version a new instance actor starts on, and an old one continues as.
const NEWEST_ACTOR: &str = versions::V1_2_0;

pub(crate) fn fixture(file: &str) -> std::path::PathBuf {
    fixtures_dir(env!("CARGO_MANIFEST_DIR")).join(file)
}

pub(crate) async fn idle_control_plane() -> TestControlPlane {
    let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
    let platform = LocalPlatform::new(scratch::subdir("instances"), binaries).expect("platform");
    TestControlPlane::idle_on(Arc::new(platform), Dependencies::DEFAULT_PROBE_TIMEOUT).await
}

/// A create that an earlier release left in flight at `step`, resumed on this build: the
/// record it had reserved (its reservation is in the history) is reserved again under the
/// fixture's placeholder, the history restored and the runtime restarted.
struct ResumedCreate {
    /// The create's orchestration instance.
    instance: String,
    record_id: uuid::Uuid,
    /// The create, finished.
    done: duroxide::OrchestrationStatus,
}

async fn resume_create(cp: &mut TestControlPlane, file: &str, step: &str) -> ResumedCreate {
    let recorded = RecordedHistory::load(&fixture(file));
    assert!(
        in_flight(&recorded.events, step),
        "{file}: {step} in flight"
    );
    let record_id = cp.reserve(&recorded.instance, &spec(NAME)).await.record_id;
    recorded
        .replacing(RECORD_PLACEHOLDER, &record_id.to_string())
        .restore(&cp.db.url)
        .await;
    cp.restart().await;
    let done = cp.wait(&recorded.instance, Duration::from_secs(120)).await;
    ResumedCreate {
        instance: recorded.instance,
        record_id,
        done,
    }
}

/// The version `instance` runs.
pub(crate) async fn version_of(cp: &TestControlPlane, instance: &str) -> String {
    cp.client
        .get_instance_info(instance)
        .await
        .unwrap()
        .orchestration_version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_left_in_flight_by_1_0_0_finishes_on_1_0_0() {
    let mut cp = idle_control_plane().await;
    let resumed = resume_create(&mut cp, CREATE_FIXTURE, activities::DEPLOY_INSTANCE).await;
    let record_id = resumed.record_id;
    let created: CreateInstanceOutput = completed_output(&resumed.done);
    assert_eq!(created.instance_id, record_id);
    assert!(created.seconds > 0.0, "1.0.0's output, clock and all");
    assert_eq!(version_of(&cp, &resumed.instance).await, versions::V1_0_0);
    let history = cp.latest_history(&resumed.instance).await;
    for step in [activities::GET_INSTANCE_STATUS, activities::TEST_CONNECTION] {
        assert!(scheduled(&history, step), "1.0.0 ran its own {step}");
    }
    assert!(!scheduled(&history, activities::PROVISION_INSTANCE));

    let record = cms::instances::get(&cp.db.pool, record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Running);
    assert_eq!(
        transitions(&cp.db.pool, record_id).await,
        [InstanceState::Creating, InstanceState::Running]
    );
    let data_dir = cp.platform.instance_dir(&spec(NAME).name).join("data");
    assert_eq!(postmasters_for(&data_dir).len(), 1);
    // The actor 1.0.0 started is a new instance, so it runs the newest version.
    let actor = instance_ids::instance_actor(record_id);
    wait_for_executions(&cp, &actor, 1).await;
    assert_eq!(version_of(&cp, &actor).await, NEWEST_ACTOR);

    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_left_in_flight_by_1_1_0_finishes_on_1_1_0() {
    let mut cp = idle_control_plane().await;
    let resumed = resume_create(
        &mut cp,
        CREATE_1_1_0_FIXTURE,
        activities::PROVISION_INSTANCE,
    )
    .await;
    let record_id = resumed.record_id;
    let created: v1_1::CreateInstanceOutput = completed_output(&resumed.done);
    assert_eq!(created.record_id, record_id);
    assert_eq!(version_of(&cp, &resumed.instance).await, versions::V1_1_0);
    let history = cp.latest_history(&resumed.instance).await;
    assert!(scheduled(&history, activities::CMS_MARK_RUNNING));
    assert!(!scheduled(&history, activities::RESTORE_INSTANCE));
    let record = cms::instances::get(&cp.db.pool, record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Running);
    let data_dir = cp.platform.instance_dir(&spec(NAME).name).join("data");
    assert_eq!(postmasters_for(&data_dir).len(), 1);

    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

/// Recorded by the release before owner roles and TLS: its activity inputs carry a spec
/// without logins, which this release decodes as the defaults and sends on unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_left_in_flight_by_the_release_before_owner_roles_finishes_with_them() {
    let mut cp = idle_control_plane().await;
    let resumed = resume_create(
        &mut cp,
        CREATE_1_2_0_FIXTURE,
        activities::PROVISION_INSTANCE,
    )
    .await;
    let record_id = resumed.record_id;
    let created: v1_1::CreateInstanceOutput = completed_output(&resumed.done);
    assert_eq!(created.record_id, record_id);
    assert_eq!(
        (
            created.endpoint.user.as_str(),
            created.endpoint.database.as_str()
        ),
        ("app", "app")
    );
    assert_eq!(created.endpoint.tls, Tls::VerifyFull);
    assert_eq!(
        version_of(&cp, &resumed.instance).await,
        versions::V1_2_0,
        "recorded by 1.2.0, finished by it"
    );
    let name = spec(NAME).name;
    for (login, logs_in) in [
        (Login::Owner, true),
        (Login::Monitor, true),
        (Login::Superuser, false),
    ] {
        let credentials = cp.platform.credentials(&name, login).await.unwrap();
        let connected = <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(
            &credentials.connect_options(&created.endpoint),
        )
        .await;
        assert_eq!(connected.is_ok(), logs_in, "{login:?}");
    }
    let record = cms::instances::get(&cp.db.pool, record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Running);
    assert!(!record.superuser_access);

    cp.platform.delete(&name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_0_0_actor_moves_to_the_newest_at_its_next_continue_as_new() {
    let mut cp = idle_control_plane().await;
    let record = running_instance(&cp).await;
    let recorded = RecordedHistory::load(&fixture(ACTOR_FIXTURE))
        .replacing(RECORD_PLACEHOLDER, &record.id.to_string());
    assert!(in_flight(&recorded.events, activities::PROBE_HEALTH));
    recorded.restore(&cp.db.url).await;
    cp.restart().await;

    wait_for_executions(&cp, &recorded.instance, 2).await;
    let first = execution(&cp, &recorded.instance, 1).await;
    assert_eq!(started_version(&first), versions::V1_0_0);
    for step in [activities::PROBE_HEALTH, activities::CMS_RECORD_HEALTH] {
        assert!(
            scheduled(&first, step),
            "the recorded cycle ends on 1.0.0: {step}"
        );
    }
    assert!(
        first
            .iter()
            .any(|e| matches!(e.kind, EventKind::OrchestrationContinuedAsNew { .. }))
    );
    let second = execution(&cp, &recorded.instance, 2).await;
    assert_eq!(started_version(&second), NEWEST_ACTOR);
    cp.wait_for_history(&recorded.instance, |h| {
        h.iter()
            .any(|e| matches!(e.kind, EventKind::ActivityCompleted { .. }))
    })
    .await;
    let second = execution(&cp, &recorded.instance, 2).await;
    assert!(scheduled(&second, activities::CHECK_HEALTH));
    let checked: RecordHealthOutput = activity_result(&second);
    assert_eq!(checked.state, InstanceState::Running);
    let rows = cms::health::history(&cp.db.pool, record.id, 10)
        .await
        .unwrap();
    assert!(rows.len() >= 2, "a row from each version: {rows:?}");

    cp.client
        .enqueue_event(&recorded.instance, events::INSTANCE_DELETED, "{}")
        .await
        .unwrap();
    let ended: InstanceActorOutput =
        completed_output(&cp.wait(&recorded.instance, Duration::from_secs(30)).await);
    assert!(matches!(ended, InstanceActorOutput::DeletedSignal { cycle } if cycle >= 1));
    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_1_0_actor_finishes_its_checks_and_moves_to_1_2_0() {
    let mut cp = idle_control_plane().await;
    cp.health_sweep = None;
    let record = running_instance(&cp).await;
    let recorded = RecordedHistory::load(&fixture(ACTOR_1_1_0_FIXTURE))
        .replacing(RECORD_PLACEHOLDER, &record.id.to_string());
    assert_eq!(recorded.version, versions::V1_1_0);
    recorded.restore(&cp.db.url).await;
    cp.restart().await;

    wait_for_executions(&cp, &recorded.instance, 2).await;
    let first = execution(&cp, &recorded.instance, 1).await;
    assert_eq!(started_version(&first), versions::V1_1_0);
    let checks = first
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ActivityCompleted { .. }))
        .count();
    assert_eq!(
        checks, 10,
        "1.1.0 finishes its ten checks, one durable step each"
    );
    let second = execution(&cp, &recorded.instance, 2).await;
    assert_eq!(started_version(&second), versions::V1_2_0);
    let carried: v1_1::InstanceActorInput = started_input(&second);
    assert_eq!(carried.cycle, 10, "1.2.0 counts on from 1.1.0's checks");
    assert_eq!(carried.incarnation, "recorded");

    // 1.2.0 checks once, then its history grows with changes of health only.
    cp.wait_for_history(&recorded.instance, |h| {
        h.iter()
            .any(|e| matches!(e.kind, EventKind::ActivityCompleted { .. }))
    })
    .await;
    let settled = cp.latest_history(&recorded.instance).await.len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        cp.latest_history(&recorded.instance).await.len(),
        settled,
        "no durable step while nothing changes"
    );
    let change = HealthChanged {
        from: HealthStatus::Healthy,
        to: HealthStatus::Degraded,
        reason: Some("disk 91% full".into()),
    };
    cp.client
        .enqueue_event(
            &recorded.instance,
            events::HEALTH_CHANGED,
            serde_json::to_string(&change).unwrap(),
        )
        .await
        .unwrap();
    cp.wait_for_history(&recorded.instance, |h| h.len() > settled)
        .await;
    cp.client
        .enqueue_event(&recorded.instance, events::INSTANCE_DELETED, "{}")
        .await
        .unwrap();
    let ended: InstanceActorOutput =
        completed_output(&cp.wait(&recorded.instance, Duration::from_secs(30)).await);
    assert_eq!(ended, InstanceActorOutput::DeletedSignal { cycle: 11 });
    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

/// Records the 1.1.0 actor fixture: an actor of a running instance, checking every second,
/// caught between two of its checks. Run by hand, like the recorders below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "records fixtures; run by hand"]
async fn record_the_actor_1_1_0_fixture() {
    let mut cp = idle_control_plane().await;
    cp.health_sweep = None;
    cp.restart().await;
    let record = running_instance(&cp).await;
    let actor = instance_ids::instance_actor(record.id);
    let input = v1_1::InstanceActorInput {
        instance_id: record.id,
        name: spec(NAME).name,
        interval_secs: 1,
        cycle: 0,
        incarnation: "recorded".into(),
    };
    cp.client
        .start_orchestration_versioned_typed(
            &actor,
            orchestrations::INSTANCE_ACTOR,
            versions::V1_1_0,
            input,
        )
        .await
        .unwrap();
    cp.wait_for_history(&actor, |h| {
        h.iter()
            .filter(|e| matches!(e.kind, EventKind::ActivityCompleted { .. }))
            .count()
            >= 3
    })
    .await;
    cp.crash();
    save(
        &cp,
        (&actor, orchestrations::INSTANCE_ACTOR, versions::V1_1_0),
        &record,
        ACTOR_1_1_0_FIXTURE,
    )
    .await;
    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
}

/// Records the fixtures above from the 1.0.0 code, which stays registered. Run by hand
/// (`cargo test -p toygres-orchestrations --test it -- --ignored upgrade::record_`) only when a
/// fixture must be made again; the files it writes are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "records fixtures; run by hand"]
async fn record_the_1_0_0_fixtures() {
    let mut cp = TestControlPlane::start().await;
    let input = CreateInstanceInput::new(spec(NAME));
    let create_id = "create-legacy-recorded";
    cp.client
        .start_orchestration_versioned_typed(
            create_id,
            orchestrations::CREATE_INSTANCE,
            versions::V1_0_0,
            input,
        )
        .await
        .unwrap();
    cp.wait_for_history(create_id, |h| in_flight(h, activities::DEPLOY_INSTANCE))
        .await;
    cp.crash();
    let record = cms::instances::find_live(&cp.db.pool, NAME)
        .await
        .unwrap()
        .unwrap();
    save(
        &cp,
        (create_id, orchestrations::CREATE_INSTANCE, versions::V1_0_0),
        &record,
        CREATE_FIXTURE,
    )
    .await;
    cp.restart().await;
    cp.wait(create_id, Duration::from_secs(120)).await;
    let actor = instance_ids::instance_actor(record.id);
    cp.client
        .cancel_instance(&actor, "recording")
        .await
        .unwrap();
    cp.wait(&actor, Duration::from_secs(30)).await;
    cp.client.delete_instance(&actor, true).await.unwrap();

    // The actor, caught with its probe in flight: the instance's server is frozen.
    let postmaster = postmasters_for(&cp.platform.instance_dir(&spec(NAME).name).join("data"))[0];
    kill(Pid::from_raw(postmaster), Signal::SIGSTOP).unwrap();
    let actor_input = InstanceActorInput {
        instance_id: record.id,
        name: spec(NAME).name,
        interval_secs: 1,
        cycle: 0,
    };
    cp.client
        .start_orchestration_versioned_typed(
            &actor,
            orchestrations::INSTANCE_ACTOR,
            versions::V1_0_0,
            actor_input,
        )
        .await
        .unwrap();
    cp.wait_for_history(&actor, |h| in_flight(h, activities::PROBE_HEALTH))
        .await;
    cp.crash();
    kill(Pid::from_raw(postmaster), Signal::SIGCONT).unwrap();
    save(
        &cp,
        (&actor, orchestrations::INSTANCE_ACTOR, versions::V1_0_0),
        &record,
        ACTOR_FIXTURE,
    )
    .await;
    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
}

/// Records the 1.1.0 fixture above from the 1.1.0 code, which stays registered. Run by
/// hand, like the 1.0.0 recorder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "records fixtures; run by hand"]
async fn record_the_1_1_0_fixture() {
    let id = "create-legacy-recorded-1-1-0";
    record_a_create_in_provision(id, versions::V1_1_0, CREATE_1_1_0_FIXTURE, |reserved| {
        v1_1::CreateInstanceInput {
            record_id: reserved.record_id,
            spec: reserved.spec,
            health_check_interval_secs: reserved.health_check_interval_secs,
            readiness_timeout_secs: reserved.readiness_timeout_secs,
        }
    })
    .await;
}

/// Records the 1.2.0 fixture (create-instance in flight at provision-instance). The
/// fixture in the repository was recorded by this test in the release before owner roles
/// and TLS (commit 3d116df), whose inputs carried no logins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "records fixtures; run by hand"]
async fn record_the_1_2_0_fixture() {
    let id = "create-legacy-recorded-1-2-0";
    record_a_create_in_provision(id, versions::V1_2_0, CREATE_1_2_0_FIXTURE, |reserved| {
        reserved
    })
    .await;
}

/// Starts create-instance `version` as `create_id` with `input` made from the reserved
/// record, crashes the node while provision-instance is in flight, and saves the history
/// as `fixture`; then lets the create finish and removes what it made.
async fn record_a_create_in_provision<Input: serde::Serialize>(
    create_id: &str,
    version: &str,
    fixture: &str,
    input: impl FnOnce(CreateInstanceInputV1_2) -> Input,
) {
    let mut cp = TestControlPlane::start().await;
    let reserved = cp.reserve(create_id, &spec(NAME)).await;
    let record_id = reserved.record_id;
    cp.client
        .start_orchestration_versioned_typed(
            create_id,
            orchestrations::CREATE_INSTANCE,
            version,
            input(reserved),
        )
        .await
        .unwrap();
    cp.wait_for_history(create_id, |h| in_flight(h, activities::PROVISION_INSTANCE))
        .await;
    cp.crash();
    let record = cms::instances::get(&cp.db.pool, record_id)
        .await
        .unwrap()
        .unwrap();
    save(
        &cp,
        (create_id, orchestrations::CREATE_INSTANCE, version),
        &record,
        fixture,
    )
    .await;
    cp.restart().await;
    cp.wait(create_id, Duration::from_secs(120)).await;
    cp.platform
        .delete(&spec(NAME).name, Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

/// Saves the latest history of `(instance, orchestration, version)` as fixture `file`,
/// with `record`'s id replaced by the placeholder.
pub(crate) async fn save(
    cp: &TestControlPlane,
    (instance, orchestration, version): (&str, &str, &str),
    record: &InstanceRecord,
    file: &str,
) {
    let recorded = RecordedHistory {
        recorded_by: format!(
            "toygres-orchestrations tests/it/upgrade.rs, {orchestration} {version}"
        ),
        orchestration: orchestration.to_string(),
        version: version.to_string(),
        instance: instance.to_string(),
        events: cp.latest_history(instance).await,
    };
    recorded
        .replacing(&record.id.to_string(), RECORD_PLACEHOLDER)
        .save(&fixture(file));
}

/// A `running` record and its server, without any orchestration.
async fn running_instance(cp: &TestControlPlane) -> InstanceRecord {
    running_instance_of(cp, &spec(NAME)).await
}

/// A `running` record of `spec` and its servers, without any orchestration.
pub(crate) async fn running_instance_of(
    cp: &TestControlPlane,
    spec: &toygres_platform::InstanceSpec,
) -> InstanceRecord {
    let input = cp.reserve("create-legacy-by-hand", spec).await;
    cp.platform.deploy(spec, input.record_id).await.unwrap();
    let endpoint = cp.platform.endpoint(&spec.name).await.unwrap();
    let change = Change {
        endpoint: Some(&endpoint),
        ..Change::default()
    };
    cms::instances::transition(
        &cp.db.pool,
        input.record_id,
        InstanceState::Running,
        &change,
        "test",
    )
    .await
    .unwrap();
    cms::instances::get(&cp.db.pool, input.record_id)
        .await
        .unwrap()
        .unwrap()
}

async fn wait_for_executions(cp: &TestControlPlane, instance: &str, at_least: usize) {
    eventually("executions", Duration::from_secs(30), || async {
        let executions = cp.client.list_executions(instance).await.ok()?;
        (executions.len() >= at_least).then_some(())
    })
    .await;
}

async fn execution(cp: &TestControlPlane, instance: &str, execution: u64) -> Vec<Event> {
    cp.client
        .read_execution_history(instance, execution)
        .await
        .unwrap()
}

fn started_version(history: &[Event]) -> String {
    history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::OrchestrationStarted { version, .. } => Some(version.clone()),
            _ => None,
        })
        .expect("an execution starts")
}

fn started_input<T: serde::de::DeserializeOwned>(history: &[Event]) -> T {
    history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::OrchestrationStarted { input, .. } => serde_json::from_str(input).ok(),
            _ => None,
        })
        .expect("an execution starts with its input")
}

fn activity_result<T: serde::de::DeserializeOwned>(history: &[Event]) -> T {
    history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ActivityCompleted { result } => serde_json::from_str(result).ok(),
            _ => None,
        })
        .expect("a completed activity")
}
