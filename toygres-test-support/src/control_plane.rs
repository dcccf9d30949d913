//! A control plane inside the test process: CMS, local platform, duroxide on duroxide-pg.
//!
//! `crash` drops the runtime without a grace period and `restart` starts a new one on the
//! same database, as a new server process would after `kill -9`.

use std::sync::Arc;
use std::time::Duration;

use duroxide::runtime::Runtime;
use duroxide::{Client, OrchestrationRegistry, OrchestrationStatus, RuntimeOptions};
use duroxide_pg::PostgresProvider;
use toygres_orchestrations::domain::{InstanceName, PostgresVersion, StorageSize};
use toygres_orchestrations::platform::InstanceSpec;
use toygres_orchestrations::platform::local::LocalPlatform;
use toygres_orchestrations::platform::local::binaries::PgBinaries;
use toygres_orchestrations::{Dependencies, cms, registry};

use crate::{TestDatabase, init_tracing, scratch};

/// duroxide's own schema, apart from the CMS.
pub const DUROXIDE_SCHEMA: &str = "toygres_duroxide";

/// A test-only orchestration: runs one activity twice with the same input and returns both
/// results, to show that a re-run activity has one effect.
pub const RUN_ACTIVITY_TWICE: &str = "toygres-test-support::orchestration::run-activity-twice";

pub struct TestControlPlane {
    pub db: TestDatabase,
    pub platform: Arc<LocalPlatform>,
    pub deps: Arc<Dependencies>,
    pub client: Client,
    runtime: Option<Arc<Runtime>>,
}

impl TestControlPlane {
    pub async fn start() -> Self {
        Self::start_with_probe_timeout(Dependencies::DEFAULT_PROBE_TIMEOUT).await
    }

    pub async fn start_with_probe_timeout(probe_timeout: Duration) -> Self {
        init_tracing();
        let db = TestDatabase::create().await;
        cms::migrate(&db.pool).await.expect("apply CMS migrations");
        let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
        let platform = Arc::new(
            LocalPlatform::new(scratch::subdir("instances"), binaries).expect("local platform"),
        );
        let deps = Arc::new(Dependencies {
            cms: db.pool.clone(),
            platform: platform.clone(),
            probe_timeout,
        });
        let (runtime, client) = start_runtime(&db.url, &deps).await;
        Self {
            db,
            platform,
            deps,
            client,
            runtime: Some(runtime),
        }
    }

    /// Stops the runtime with no grace period: in-flight work is abandoned mid-step.
    pub async fn crash(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown(Some(0)).await;
        }
    }

    /// Starts a new runtime (and provider, and client) on the same database.
    pub async fn restart(&mut self) {
        self.crash().await;
        let (runtime, client) = start_runtime(&self.db.url, &self.deps).await;
        self.runtime = Some(runtime);
        self.client = client;
    }

    pub async fn shutdown(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown(Some(2_000)).await;
        }
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
    }
}

/// Runtime options for tests: quick polling, and a short worker lock so an activity
/// abandoned by a crashed runtime is picked up again within seconds.
pub fn test_runtime_options() -> RuntimeOptions {
    RuntimeOptions {
        dispatcher_min_poll_interval: Duration::from_millis(50),
        worker_lock_timeout: Duration::from_secs(5),
        worker_lock_renewal_buffer: Duration::from_secs(2),
        ..RuntimeOptions::default()
    }
}

async fn start_runtime(url: &str, deps: &Arc<Dependencies>) -> (Arc<Runtime>, Client) {
    let provider = Arc::new(
        PostgresProvider::new_with_schema(url, Some(DUROXIDE_SCHEMA))
            .await
            .expect("duroxide-pg provider"),
    );
    let activities = registry::activity_registry(deps.clone()).expect("activity registry");
    let orchestrations = with_test_orchestrations(
        registry::orchestration_registry().expect("orchestration registry"),
    );
    let runtime = Runtime::start_with_options(
        provider.clone(),
        activities,
        orchestrations,
        test_runtime_options(),
    )
    .await;
    (runtime, Client::new(provider))
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
