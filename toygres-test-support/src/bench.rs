//! Shared pieces of the benchmarks: the baseline every create is compared against, and
//! how results are summarised.

use std::time::{Duration, Instant};

use toygres_orchestrations::platform::local::binaries::PgBinaries;
use toygres_orchestrations::platform::local::cluster::{
    Auth, ClusterSettings, PgCluster, StopMode,
};
use toygres_orchestrations::platform::local::os_user;

use crate::database::free_port;
use crate::scratch;

/// The floor of any local PostgreSQL: initdb with a password file, configure, start, until
/// it accepts connections. The server is stopped afterwards.
pub async fn initdb_and_start() -> Duration {
    let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
    let run_as = os_user::detect().expect("an OS user for PostgreSQL");
    let dir = scratch::subdir("baseline");
    let password = dir.join("password");
    std::fs::write(&password, "bench-password").expect("write the password file");
    if let Some(run_as) = &run_as {
        run_as.give(&dir).expect("chown the directory");
        run_as.give(&password).expect("chown the password file");
    }
    let port = free_port();
    let cluster = PgCluster::new(dir.join("data"), binaries.newest().clone(), run_as);
    let started = Instant::now();
    cluster
        .init("postgres", &Auth::Password(password))
        .await
        .expect("initdb");
    cluster
        .configure(&ClusterSettings {
            port,
            extra: Vec::new(),
        })
        .await
        .expect("configure");
    cluster
        .start(&dir.join("postgres.log"))
        .await
        .expect("start");
    while !cluster.accepts_connections(port).await {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    cluster.stop(StopMode::Immediate).await.expect("stop");
    elapsed
}

pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// `label  median X s  (runs: a, b, c s)`
pub fn report(label: &str, times: &[Duration]) {
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

/// `ratio LABEL (medians): X`
pub fn report_ratio(label: &str, measured: &[Duration], baseline: &[Duration]) {
    println!(
        "ratio {label} (medians): {:.2}",
        median(measured).as_secs_f64() / median(baseline).as_secs_f64()
    );
}
