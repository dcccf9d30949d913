//! Event-driven dispatch against the polling it replaced, in the same run, on the same
//! database:
//!
//! 1. Latency: a chain of trivial activities, one after the other; each step is an
//!    activity dispatch and an orchestration turn. Reported per step.
//! 2. Idle cost: CPU of this process and of the database while a runtime waits for work.
//!
//! "polling" is duroxide-pg as it comes, with duroxide's default 100 ms poll (Toygres
//! before); "waking" is Toygres's engine (LISTEN/NOTIFY long-poll, 1 s fallback poll).
//!
//! `cargo bench -p toygres-server --bench dispatch`

use std::sync::Arc;
use std::time::{Duration, Instant};

use duroxide::providers::Provider;
use duroxide::runtime::Runtime;
use duroxide::runtime::registry::ActivityRegistry;
use duroxide::{
    ActivityContext, Client, OrchestrationContext, OrchestrationRegistry, RuntimeOptions,
};
use duroxide_pg::PostgresProvider;
use toygres_server::engine::{self, Engine, PoolSizes, Store};
use toygres_test_support::bench::{cpu_ticks, median, percent_of_a_core, server_cpu_ticks};
use toygres_test_support::private_cluster::PrivateCluster;

const NOOP: &str = "bench::activity::noop";
const CHAIN: &str = "bench::orchestration::chain";
const STEPS: u32 = 50;
const RUNS: usize = 5;
const IDLE_WINDOW: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cluster = PrivateCluster::started().await;
    let url = cluster.url();
    let postmaster = cluster.postmaster().expect("the cluster runs");

    let polling = PostgresProvider::new_with_schema(&url, Some("bench_polling"))
        .await
        .expect("duroxide-pg");
    let polling: Arc<dyn Provider> = Arc::new(polling);
    let runtime = Runtime::start_with_options(
        polling.clone(),
        activities(),
        orchestrations(),
        RuntimeOptions::default(),
    )
    .await;
    let polling_steps = chain_times(&Client::new(polling), "polling").await;
    let polling_idle = idle(postmaster).await;
    runtime.shutdown(Some(1000)).await;

    let store = Store::open(&url).await.expect("the store");
    let engine = Engine::start(
        &store,
        activities(),
        orchestrations(),
        PoolSizes::default(),
        engine::runtime_options(Duration::from_secs(1)),
    )
    .await;
    let waking_steps = chain_times(&store.client(), "waking").await;
    let waking_idle = idle(postmaster).await;
    engine.shutdown(Duration::from_secs(1)).await;

    let per_step = |times: &[Duration]| median(times).as_secs_f64() * 1000.0 / f64::from(STEPS);
    println!(
        "per step (activity + turn), median of {RUNS} chains of {STEPS}: polling {:.1} ms, waking {:.1} ms, ratio {:.2}",
        per_step(&polling_steps),
        per_step(&waking_steps),
        per_step(&waking_steps) / per_step(&polling_steps)
    );
    for (label, (process, database)) in [("polling", polling_idle), ("waking", waking_idle)] {
        println!(
            "idle over {}s, {label}: this process {process:.2}% of a core, database {database:.2}%",
            IDLE_WINDOW.as_secs()
        );
    }
    println!(
        "idle ratio waking / polling (process + database): {:.2}",
        (waking_idle.0 + waking_idle.1) / (polling_idle.0 + polling_idle.1).max(0.01)
    );
}

fn activities() -> ActivityRegistry {
    ActivityRegistry::builder()
        .register(NOOP, |_ctx: ActivityContext, input: String| async move {
            Ok(input)
        })
        .build_result()
        .expect("bench activities")
}

fn orchestrations() -> OrchestrationRegistry {
    OrchestrationRegistry::builder()
        .register(
            CHAIN,
            |ctx: OrchestrationContext, steps: String| async move {
                let steps: u32 = steps.parse().map_err(|e| format!("{e}"))?;
                for step in 0..steps {
                    ctx.schedule_activity(NOOP, step.to_string()).await?;
                }
                Ok(String::new())
            },
        )
        .build_result()
        .expect("bench orchestrations")
}

async fn chain_times(client: &Client, label: &str) -> Vec<Duration> {
    let mut times = Vec::new();
    for run in 0..RUNS {
        let id = format!("chain-{label}-{run}");
        let started = Instant::now();
        client
            .start_orchestration(&id, CHAIN, STEPS.to_string())
            .await
            .expect("start a chain");
        client
            .wait_for_orchestration(&id, Duration::from_secs(120))
            .await
            .expect("the chain ends");
        times.push(started.elapsed());
    }
    times
}

/// CPU of this process and of the database over the idle window, in % of a core.
async fn idle(postmaster: i32) -> (f64, f64) {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let me = std::process::id() as i32;
    let (process, database) = (cpu_ticks(me), server_cpu_ticks(postmaster));
    tokio::time::sleep(IDLE_WINDOW).await;
    (
        percent_of_a_core(cpu_ticks(me) - process, IDLE_WINDOW),
        percent_of_a_core(server_cpu_ticks(postmaster) - database, IDLE_WINDOW),
    )
}
