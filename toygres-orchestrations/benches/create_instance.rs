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

use toygres_orchestrations::types::v1_1::CreateInstanceOutput;
use toygres_platform::Platform;
use toygres_platform::Whose;
use toygres_test_support::TestControlPlane;
use toygres_test_support::bench::{initdb_and_start, report, report_ratio};
use toygres_test_support::control_plane::{completed_output, spec};

const RUNS: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let baseline = measure(|_| initdb_and_start()).await;
    let cp = TestControlPlane::start().await;
    let orchestrated = measure(|run| create_instance(&cp, run)).await;
    cp.shutdown().await;

    report("initdb + start (baseline)", &baseline);
    report("create-instance", &orchestrated);
    report_ratio("create-instance / baseline", &orchestrated, &baseline);
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

async fn create_instance(cp: &TestControlPlane, run: usize) -> Duration {
    let spec = spec(&format!("bench-{run}"));
    let id = format!("create-bench-{run}");
    let started = Instant::now();
    let input = cp.reserve(&id, &spec).await;
    cp.start_create(&id, input).await;
    let _: CreateInstanceOutput = completed_output(&cp.wait(&id, Duration::from_secs(120)).await);
    let elapsed = started.elapsed();
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    elapsed
}
