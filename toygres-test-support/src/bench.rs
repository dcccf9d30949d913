//! Shared pieces of the benchmarks: the baseline every create is compared against, and
//! how results are summarised.

use std::time::{Duration, Instant};

use crate::database::free_port;
use crate::password_server::PasswordServer;

/// The floor of any local PostgreSQL: initdb with a password, configure, start, until it
/// accepts connections. The server is stopped afterwards.
pub async fn initdb_and_start() -> Duration {
    let started = Instant::now();
    let server = PasswordServer::start(b"bench-password", free_port()).await;
    let elapsed = started.elapsed();
    server.stop().await;
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
