//! A control plane inside the test process: CMS, local platform, and the server's own
//! duroxide engine (the waking store and its worker pools) on duroxide-pg.
//!
//! `crash` drops the engine without a grace period and `restart` starts a new one on the
//! same database, as a new server process would after `kill -9`.

use std::sync::Arc;
use std::time::Duration;

use duroxide::{
    Client, Event, EventKind, OrchestrationRegistry, OrchestrationStatus, RuntimeOptions,
};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use toygres_cms as cms;
use toygres_domain::{InstanceName, PostgresVersion, Standbys, StorageSize};
use toygres_orchestrations::health_sweep::HealthSweep;
use toygres_orchestrations::names::instance_ids::RecordOperation;
use toygres_orchestrations::types::v1_2::CreateInstanceInput;
use toygres_orchestrations::types::{
    DEFAULT_HEALTH_CHECK_INTERVAL_SECS, DEFAULT_READINESS_TIMEOUT_SECS, DeleteInstanceInput,
    DeleteMode, OperationInput,
};
use toygres_orchestrations::{Dependencies, names, registry};
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Access, InstanceSpec, Platform};
pub use toygres_server::engine::PoolSizes;
use toygres_server::engine::{self, Engine, Store};
use uuid::Uuid;

use crate::eventually::eventually_every;
use crate::{TestDatabase, init_tracing, scratch};

/// A test-only orchestration: runs one activity twice with the same input and returns both
/// results, to show that a re-run activity has one effect.
pub const RUN_ACTIVITY_TWICE: &str = "toygres-test-support::orchestration::run-activity-twice";

pub struct TestControlPlane<P: Platform + 'static = LocalPlatform> {
    pub db: TestDatabase,
    pub platform: Arc<P>,
    /// A client on its own provider, unaffected by crashes of the node.
    pub client: Client,
    probe_timeout: Duration,
    /// The worker pools of the nodes `restart` starts.
    pub pools: PoolSizes,
    /// How often the nodes `restart` starts sweep the fleet's health (none: no sweep, so a
    /// test sees only the rows its own steps write).
    pub health_sweep: Option<Duration>,
    node: Option<Node>,
}

/// What one server process would hold: its own tokio runtime, pools and duroxide engine.
struct Node {
    tokio: tokio::runtime::Runtime,
    engine: Engine,
}

impl TestControlPlane<LocalPlatform> {
    /// On the local platform, with instances under the scratch directory.
    pub async fn start() -> Self {
        Self::start_with_probe_timeout(Dependencies::DEFAULT_PROBE_TIMEOUT).await
    }

    /// As [`start`](Self::start), with no health sweep: a test that counts health rows
    /// sees only those its own steps write.
    pub async fn start_without_health_sweep() -> Self {
        let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
        let platform =
            LocalPlatform::new(scratch::subdir("instances"), binaries).expect("local platform");
        let mut cp = Self::idle_on(Arc::new(platform), Dependencies::DEFAULT_PROBE_TIMEOUT).await;
        cp.health_sweep = None;
        cp.restart().await;
        cp
    }

    pub async fn start_with_probe_timeout(probe_timeout: Duration) -> Self {
        let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
        let platform =
            LocalPlatform::new(scratch::subdir("instances"), binaries).expect("local platform");
        Self::start_on(Arc::new(platform), probe_timeout).await
    }
}

impl<P: Platform + 'static> TestControlPlane<P> {
    /// On any platform.
    pub async fn start_on(platform: Arc<P>, probe_timeout: Duration) -> Self {
        let mut cp = Self::idle_on(platform, probe_timeout).await;
        cp.restart().await;
        cp
    }

    /// The database and a client, but no node yet (`restart` starts one): to load a
    /// recorded history before any runtime can touch the store.
    pub async fn idle_on(platform: Arc<P>, probe_timeout: Duration) -> Self {
        init_tracing();
        let db = TestDatabase::create().await;
        cms::migrate(&db.pool).await.expect("apply CMS migrations");
        let client = duroxide_client(&db.url).await;
        Self {
            db,
            platform,
            client,
            probe_timeout,
            pools: PoolSizes {
                platform_workers: 2,
                health_workers: 2,
                ..PoolSizes::default()
            },
            health_sweep: Some(Duration::from_secs(1)),
            node: None,
        }
    }

    /// Kills the node like `kill -9` would: every task, activity and connection is dropped
    /// wherever it is, nothing is acknowledged. Child processes (initdb, pg_ctl) live on.
    pub fn crash(&mut self) {
        if let Some(node) = self.node.take() {
            node.tokio.shutdown_background();
        }
    }

    /// Starts a new node on the same database, as a restarted server would.
    pub async fn restart(&mut self) {
        self.crash();
        let node = start_node(
            &self.db.url,
            self.platform.clone(),
            self.probe_timeout,
            self.pools,
            self.health_sweep,
        );
        self.node = Some(node.await);
    }

    pub async fn shutdown(mut self) {
        if let Some(node) = self.node.take() {
            let engine = node.engine;
            let stopped = node
                .tokio
                .spawn(async move { engine.shutdown(Duration::from_secs(2)).await });
            let _ = stopped.await;
            node.tokio.shutdown_background();
        }
    }

    /// The history of the newest execution of `instance` (empty before it starts).
    pub async fn latest_history(&self, instance: &str) -> Vec<Event> {
        let Some(execution) = self
            .client
            .list_executions(instance)
            .await
            .ok()
            .and_then(|executions| executions.into_iter().max())
        else {
            return Vec::new();
        };
        self.client
            .read_execution_history(instance, execution)
            .await
            .unwrap_or_default()
    }

    /// Polls the newest execution's history (often: tests crash at exact points) until
    /// `done` holds; panics after 30 s.
    pub async fn wait_for_history(&self, instance: &str, done: impl Fn(&[Event]) -> bool) {
        let what = format!("the history of {instance} to reach the expected point");
        eventually_every(
            &what,
            Duration::from_secs(30),
            Duration::from_millis(5),
            || async { done(&self.latest_history(instance).await).then_some(()) },
        )
        .await;
    }

    /// Reserves a record for `spec` under orchestration id `id`, as the API does before it
    /// starts create-instance, and returns the input to start it with (the defaults but
    /// for the record).
    pub async fn reserve(&self, id: &str, spec: &InstanceSpec) -> CreateInstanceInput {
        let record_id = cms::instances::reserve(&self.db.pool, spec, self.platform.kind(), id)
            .await
            .expect("reserve the record");
        CreateInstanceInput {
            record_id,
            spec: spec.clone(),
            health_check_interval_secs: DEFAULT_HEALTH_CHECK_INTERVAL_SECS,
            readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
            restore: None,
        }
    }

    /// Starts create-instance (the latest version) as orchestration `id`.
    pub async fn start_create(&self, id: &str, input: CreateInstanceInput) {
        self.client
            .start_orchestration_typed(id, names::orchestrations::CREATE_INSTANCE, input)
            .await
            .expect("start create-instance");
    }

    /// Starts a stop, start or restart of record `record_id` the way the API does: moves
    /// the record to the operation's state (`to`) under the operation's id, then starts
    /// `orchestration`. Returns the operation's id.
    pub async fn start_operation(
        &self,
        kind: RecordOperation,
        orchestration: &str,
        to: cms::InstanceState,
        record_id: Uuid,
        name: &InstanceName,
    ) -> String {
        let id = names::instance_ids::operation(kind, record_id, Uuid::new_v4());
        let change = cms::instances::Change {
            operation_orchestration_id: Some(&id),
            ..cms::instances::Change::default()
        };
        let moved = cms::instances::transition(&self.db.pool, record_id, to, &change, &id)
            .await
            .expect("move the record");
        assert!(
            matches!(moved, cms::instances::Transition::Applied { .. }),
            "{kind}: {moved:?}"
        );
        let input = OperationInput {
            record_id,
            name: name.clone(),
            readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
            health_check_interval_secs: 1,
        };
        self.client
            .start_orchestration_typed(&id, orchestration, input)
            .await
            .expect("start the operation");
        id
    }

    /// Starts a user's delete-instance of record `instance_id` as orchestration `id`.
    pub async fn start_delete(&self, id: &str, instance_id: Uuid, name: &InstanceName) {
        let input = DeleteInstanceInput {
            instance_id,
            name: name.clone(),
            mode: DeleteMode::Delete,
        };
        self.client
            .start_orchestration_typed(id, names::orchestrations::DELETE_INSTANCE, input)
            .await
            .expect("start delete-instance");
    }

    /// Runs `activity` twice with the same input inside one orchestration (`id`), as a
    /// retry would, and returns both results.
    pub async fn run_activity_twice<I, O>(&self, id: &str, activity: &str, input: &I) -> (O, O)
    where
        I: serde::Serialize,
        O: serde::de::DeserializeOwned,
    {
        let input = serde_json::to_string(input).expect("encode the activity input");
        let payload = serde_json::to_string(&(activity, input)).expect("encode the request");
        self.client
            .start_orchestration(id, RUN_ACTIVITY_TWICE, payload)
            .await
            .expect("start the twice orchestration");
        let (first, second): (String, String) =
            completed_output(&self.wait(id, Duration::from_secs(60)).await);
        // As duroxide's typed API decodes: a string output is stored without JSON quotes.
        let decode = |raw: &str| {
            serde_json::from_str(raw)
                .or_else(|_| serde_json::from_value(serde_json::Value::String(raw.into())))
                .unwrap_or_else(|e| panic!("{activity} output {raw}: {e}"))
        };
        (decode(&first), decode(&second))
    }

    /// The CMS record `id` as it is now.
    pub async fn record(&self, id: Uuid) -> cms::instances::InstanceRecord {
        cms::instances::get(&self.db.pool, id)
            .await
            .expect("read the record")
            .expect("the record exists")
    }

    /// Waits until record `id`'s health is `status` and returns the record then; panics
    /// after `within`.
    pub async fn wait_for_health(
        &self,
        id: Uuid,
        status: toygres_domain::HealthStatus,
        within: Duration,
    ) -> cms::instances::InstanceRecord {
        eventually_every(
            &format!("health {status}"),
            within,
            Duration::from_millis(100),
            || async {
                let record = self.record(id).await;
                (record.health_status == status).then_some(record)
            },
        )
        .await
    }

    /// Waits for an orchestration to finish; panics on timeout.
    pub async fn wait(&self, instance: &str, timeout: Duration) -> OrchestrationStatus {
        self.client
            .wait_for_orchestration(instance, timeout)
            .await
            .unwrap_or_else(|e| panic!("waiting for {instance}: {e}"))
    }
}

/// A spec for the newest PostgreSQL installed here.
pub fn spec(name: &str) -> InstanceSpec {
    let major = PgBinaries::discover(None).expect("binaries").newest().major;
    InstanceSpec {
        name: InstanceName::parse(name).expect("a valid test name"),
        postgres_version: PostgresVersion::new(major).expect("a supported version"),
        storage: StorageSize::default(),
        access: Access::default(),
        standbys: Standbys::NONE,
        settings: Default::default(),
    }
}

/// Runtime options for tests: the server's, with a quick fallback poll and a short worker
/// lock, so an activity abandoned by a crashed node is picked up again within seconds.
pub fn test_runtime_options() -> RuntimeOptions {
    RuntimeOptions {
        worker_lock_timeout: Duration::from_secs(5),
        worker_lock_renewal_buffer: Duration::from_secs(2),
        ..engine::runtime_options(Duration::from_millis(250))
    }
}

/// Cancels orchestration `id` and waits until duroxide reports it failed: the test's way
/// of making an orchestration die.
pub async fn kill_orchestration(client: &Client, id: &str) {
    client
        .cancel_instance(id, "test: the orchestration dies")
        .await
        .expect("cancel the orchestration");
    let status = client
        .wait_for_orchestration(id, Duration::from_secs(30))
        .await
        .expect("wait for the orchestration");
    assert!(
        matches!(status, OrchestrationStatus::Failed { .. }),
        "{id} did not die: {status:?}"
    );
}

/// A duroxide client on the store at `url` (e.g. a test server's database).
pub async fn duroxide_client(url: &str) -> Client {
    Store::open(url).await.expect("the duroxide store").client()
}

async fn start_node(
    url: &str,
    platform: Arc<dyn Platform>,
    probe_timeout: Duration,
    pools: PoolSizes,
    health_sweep: Option<Duration>,
) -> Node {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("test-node")
        .enable_all()
        .build()
        .expect("a tokio runtime for the node");
    let url = url.to_string();
    let started = tokio.spawn(async move {
        let cms = PgPoolOptions::new()
            .max_connections(5)
            .connect(&url)
            .await
            .expect("the node's CMS pool");
        let deps = Dependencies::with_probe_timeout(
            cms,
            platform,
            toygres_orchestrations::Measures::none(),
            probe_timeout,
        );
        let activities = registry::activity_registry(deps.clone()).expect("activity registry");
        let orchestrations = with_test_orchestrations(
            registry::orchestration_registry().expect("orchestration registry"),
        );
        let store = Store::open(&url).await.expect("the duroxide store");
        let mut engine = Engine::start(
            &store,
            activities,
            orchestrations,
            pools,
            test_runtime_options(),
        )
        .await;
        if let Some(interval) = health_sweep {
            engine.watch_health(HealthSweep::new(deps, store.client(), interval));
        }
        engine
    });
    let engine = started.await.expect("the node starts");
    Node { tokio, engine }
}

fn with_test_orchestrations(base: OrchestrationRegistry) -> OrchestrationRegistry {
    OrchestrationRegistry::builder_from(&base)
        .register(RUN_ACTIVITY_TWICE, |ctx, input: String| async move {
            let (activity, activity_input): (String, String) =
                serde_json::from_str(&input).map_err(|e| e.to_string())?;
            let first = ctx.schedule_activity(&activity, &activity_input).await?;
            let second = ctx.schedule_activity(&activity, &activity_input).await?;
            serde_json::to_string(&(first, second)).map_err(|e| e.to_string())
        })
        .build_result()
        .expect("test orchestrations register")
}

/// The states a record went through, in order (from `instance_events`).
pub async fn transitions(pool: &PgPool, id: Uuid) -> Vec<cms::InstanceState> {
    cms::instances::events(pool, id)
        .await
        .expect("read the record's events")
        .into_iter()
        .map(|event| event.to_state)
        .collect()
}

/// Whether `history` shows `activity` scheduled.
pub fn scheduled(history: &[Event], activity: &str) -> bool {
    history.iter().any(|event| {
        matches!(&event.kind, EventKind::ActivityScheduled { name, .. } if name == activity)
    })
}

/// Whether `history` shows `activity` scheduled but not yet finished.
pub fn in_flight(history: &[Event], activity: &str) -> bool {
    let Some(scheduled_id) = history.iter().find_map(|event| match &event.kind {
        EventKind::ActivityScheduled { name, .. } if name == activity => Some(event.event_id),
        _ => None,
    }) else {
        return false;
    };
    !history.iter().any(|event| {
        event.source_event_id == Some(scheduled_id)
            && matches!(
                event.kind,
                EventKind::ActivityCompleted { .. } | EventKind::ActivityFailed { .. }
            )
    })
}

/// The output of a completed orchestration; panics with the status otherwise.
pub fn completed_output<T: serde::de::DeserializeOwned>(status: &OrchestrationStatus) -> T {
    match status {
        OrchestrationStatus::Completed { output, .. } => {
            serde_json::from_str(output).unwrap_or_else(|e| panic!("output {output}: {e}"))
        }
        other => panic!("expected a completed orchestration, got {other:?}"),
    }
}

/// The error of a failed orchestration; panics with the status otherwise.
pub fn failure_message(status: &OrchestrationStatus) -> String {
    match status {
        OrchestrationStatus::Failed { details, .. } => details.display_message(),
        other => panic!("expected a failed orchestration, got {other:?}"),
    }
}
