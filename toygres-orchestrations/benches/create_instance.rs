//! How long create-instance takes on the local platform, against its floor.
//!
//! Baseline: what any local PostgreSQL needs (initdb with a password, configure, pg_ctl
//! start, until it accepts connections), run directly. Measured: the create-instance
//! orchestration end to end on duroxide-pg (reserve, deploy, readiness polling, connection
//! test, mark running, start the actor). Both run `RUNS` times in this process; the ratio
//! of medians is the cost of durability and orchestration.
//!
//! `cargo bench -p toygres-orchestrations --bench create_instance`

use std::time::{Duration, Instant};

use toygres_orchestrations::names;
use toygres_orchestrations::platform::Platform;
use toygres_orchestrations::platform::local::binaries::PgBinaries;
use toygres_orchestrations::platform::local::cluster::{
    Auth, ClusterSettings, PgCluster, StopMode,
};
use toygres_orchestrations::platform::local::os_user;
use toygres_orchestrations::types::{CreateInstanceInput, CreateInstanceOutput};
use toygres_test_support::control_plane::{completed_output, spec};
use toygres_test_support::database::free_port;
use toygres_test_support::{TestControlPlane, scratch};

const RUNS: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let baseline = measure(initdb_and_start).await;
    let cp = TestControlPlane::start().await;
    let orchestrated = measure(|run| create_instance(&cp, run)).await;
    cp.shutdown().await;

    report("initdb + start (baseline)", &baseline);
    report("create-instance", &orchestrated);
    println!(
        "ratio create-instance / baseline (medians): {:.2}",
        median(&orchestrated).as_secs_f64() / median(&baseline).as_secs_f64()
    );
}

async fn measure<F, Fut>(mut once: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        times.push(once(run).await);
    }
    times
}

async fn initdb_and_start(run: usize) -> Duration {
    let binaries = PgBinaries::discover(None).unwrap();
    let run_as = os_user::detect().unwrap();
    let dir = scratch::subdir(&format!("baseline-{run}"));
    let password = dir.join("password");
    std::fs::write(&password, "bench-password").unwrap();
    if let Some(run_as) = &run_as {
        run_as.give(&dir).unwrap();
        run_as.give(&password).unwrap();
    }
    let port = free_port();
    let cluster = PgCluster::new(dir.join("data"), binaries.newest().clone(), run_as);
    let started = Instant::now();
    cluster
        .init("postgres", &Auth::Password(password))
        .await
        .unwrap();
    cluster
        .configure(&ClusterSettings {
            port,
            extra: Vec::new(),
        })
        .await
        .unwrap();
    cluster.start(&dir.join("postgres.log")).await.unwrap();
    while !cluster.accepts_connections(port).await {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    cluster.stop(StopMode::Immediate).await.unwrap();
    elapsed
}

async fn create_instance(cp: &TestControlPlane, run: usize) -> Duration {
    let spec = spec(&format!("bench-{run}"));
    let id = format!("create-bench-{run}");
    let started = Instant::now();
    cp.client
        .start_orchestration_typed(
            &id,
            names::orchestrations::CREATE_INSTANCE,
            CreateInstanceInput::new(spec.clone()),
        )
        .await
        .unwrap();
    let _: CreateInstanceOutput = completed_output(&cp.wait(&id, Duration::from_secs(120)).await);
    let elapsed = started.elapsed();
    cp.platform.delete(&spec.name).await.unwrap();
    elapsed
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn report(label: &str, times: &[Duration]) {
    let all: Vec<String> = times
        .iter()
        .map(|t| format!("{:.2}", t.as_secs_f64()))
        .collect();
    println!(
        "{label:<28} median {:.2}s  (runs: {} s)",
        median(times).as_secs_f64(),
        all.join(", ")
    );
}
