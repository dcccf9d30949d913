//! The duroxide engine this process hosts: one store, and a runtime per worker pool on it.
//!
//! - [`Store`] opens duroxide-pg in its own schema behind a `WakingProvider`, so
//!   dispatchers wait for work instead of polling for it (see `waking_provider`).
//! - [`Engine`] runs one runtime for orchestrations and short, untagged activities (CMS
//!   steps), and one per activity tag: the platform pool for long work (deploys,
//!   deletes, warm-pool refills) and the health pool for probes. A deploy that takes
//!   a minute can then never hold up a CMS step or a health check, and nothing waits
//!   in a queue it does not belong to.

mod bridge;
mod wakeups;
mod waking_provider;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use duroxide::providers::{Provider, TagFilter};
use duroxide::runtime::Runtime;
use duroxide::runtime::registry::ActivityRegistry;
use duroxide::{Client, OrchestrationRegistry, RuntimeOptions};
use duroxide_pg::PostgresProvider;
use tokio::sync::watch;
use toygres_orchestrations::DUROXIDE_SCHEMA;
use toygres_orchestrations::health_sweep::HealthSweep;
use toygres_orchestrations::names::tags;

use self::bridge::Bridge;
use self::wakeups::Wakeups;
use self::waking_provider::WakingProvider;

/// The duroxide store, shared by every runtime and client of this process.
#[derive(Clone)]
pub struct Store {
    provider: Arc<WakingProvider>,
    wakeups: Arc<Wakeups>,
}

impl Store {
    /// Opens (and migrates) the store at `database_url`; the URL is never logged.
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        let inner = Arc::new(
            PostgresProvider::new_with_schema(database_url, Some(DUROXIDE_SCHEMA))
                .await
                .context("opening the duroxide store")?,
        );
        let wakeups = Arc::new(Wakeups::default());
        let bridge = Bridge::start(
            database_url.to_string(),
            inner.pool().clone(),
            wakeups.clone(),
        );
        Ok(Self {
            provider: Arc::new(WakingProvider::new(inner, wakeups.clone(), bridge)),
            wakeups,
        })
    }

    pub fn provider(&self) -> Arc<dyn Provider> {
        self.provider.clone()
    }

    pub fn client(&self) -> Client {
        Client::new(self.provider())
    }

    /// Moves whenever this process or another server writes to the store: a cheap signal
    /// to look again (for long-polling API requests).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.wakeups.changes()
    }
}

/// How many dispatchers of each kind this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSizes {
    /// Orchestration turns.
    pub orchestrations: usize,
    /// Untagged activities: CMS steps and duroxide's own.
    pub workers: usize,
    /// Deploys, deletes and warm-pool refills.
    pub platform_workers: usize,
    /// Health probes.
    pub health_workers: usize,
}

impl Default for PoolSizes {
    fn default() -> Self {
        Self {
            orchestrations: 2,
            workers: 2,
            platform_workers: 4,
            health_workers: 4,
        }
    }
}

/// The runtimes of this process, and its health sweep; shut them down together.
pub struct Engine {
    runtimes: Vec<Arc<Runtime>>,
    sweep: Option<tokio::task::JoinHandle<()>>,
}

impl Engine {
    /// Starts a runtime per pool. `options` carries what all share (poll timeout, locks);
    /// concurrency and tag filters are set here.
    pub async fn start(
        store: &Store,
        activities: ActivityRegistry,
        orchestrations: OrchestrationRegistry,
        sizes: PoolSizes,
        options: RuntimeOptions,
    ) -> Self {
        let pools = [
            (sizes.orchestrations, sizes.workers, TagFilter::DefaultOnly),
            (0, sizes.platform_workers, TagFilter::tags([tags::PLATFORM])),
            (0, sizes.health_workers, TagFilter::tags([tags::HEALTH])),
        ];
        let mut runtimes = Vec::new();
        for (orchestration_concurrency, worker_concurrency, worker_tag_filter) in pools {
            let options = RuntimeOptions {
                orchestration_concurrency,
                worker_concurrency,
                worker_tag_filter,
                ..options.clone()
            };
            runtimes.push(
                Runtime::start_with_options(
                    store.provider(),
                    activities.clone(),
                    orchestrations.clone(),
                    options,
                )
                .await,
            );
        }
        Self {
            runtimes,
            sweep: None,
        }
    }

    /// Runs `sweep` on this tokio runtime until the engine shuts down (or the runtime
    /// goes).
    pub fn watch_health(&mut self, sweep: HealthSweep) {
        if let Some(previous) = self.sweep.replace(tokio::spawn(sweep.run())) {
            previous.abort();
        }
    }

    /// Lets in-flight work finish for up to `grace`, then stops every runtime.
    pub async fn shutdown(self, grace: Duration) {
        if let Some(sweep) = &self.sweep {
            sweep.abort();
        }
        let grace_ms = grace.as_millis() as u64;
        let stopping = self
            .runtimes
            .into_iter()
            .map(|runtime| tokio::spawn(runtime.shutdown(Some(grace_ms))));
        for stopped in stopping.collect::<Vec<_>>() {
            let _ = stopped.await;
        }
    }
}

/// Dispatchers wait on the store for up to `fallback_poll` (waking earlier on work); this
/// is also the longest a lost wake-up delays a step.
pub fn runtime_options(fallback_poll: Duration) -> RuntimeOptions {
    RuntimeOptions {
        dispatcher_long_poll_timeout: fallback_poll,
        // Only reached when a fetch returns early with nothing (an error): no hot loop.
        dispatcher_min_poll_interval: Duration::from_millis(10),
        ..RuntimeOptions::default()
    }
}
