//! Shared pieces of the benchmarks: the floors every create and delete is compared
//! against, measured by hand in the same run, and how results are summarised.

use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::database::free_port;
use crate::password_server::PasswordServer;

const PASSWORD: &str = "bench-password";

/// The floor of any local PostgreSQL: `initdb` with a password, configure, `pg_ctl start
/// -w`, and a first login. Returns the time and the running server.
pub async fn create_by_hand() -> (Duration, PasswordServer) {
    let started = Instant::now();
    let server = PasswordServer::start(PASSWORD.as_bytes(), free_port()).await;
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(server.port)
        .username("postgres")
        .password(PASSWORD)
        .database("postgres");
    let connection = PgConnection::connect_with(&options)
        .await
        .expect("log in to the server made by hand");
    let elapsed = started.elapsed();
    connection.close().await.ok();
    (elapsed, server)
}

/// The floor of deleting: `pg_ctl stop -m fast` and `rm -rf`.
pub async fn delete_by_hand(server: PasswordServer) -> Duration {
    let started = Instant::now();
    server.stop_fast_and_remove().await;
    started.elapsed()
}

/// The create floor alone (the server is stopped afterwards, untimed).
pub async fn initdb_and_start() -> Duration {
    let (elapsed, server) = create_by_hand().await;
    server.stop().await;
    elapsed
}

pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// `label  median X ms  (min a, max b, n runs)`
pub fn report(label: &str, times: &[Duration]) {
    let ms = |t: Duration| t.as_secs_f64() * 1000.0;
    let min = times.iter().min().copied().unwrap_or_default();
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "{label:<32} median {:.1} ms  (min {:.1}, max {:.1}, {} runs)",
        ms(median(times)),
        ms(min),
        ms(max),
        times.len()
    );
}

/// `ratio LABEL (medians): X`
pub fn report_ratio(label: &str, measured: &[Duration], baseline: &[Duration]) {
    println!(
        "ratio {label} (medians): {:.2}",
        median(measured).as_secs_f64() / median(baseline).as_secs_f64()
    );
}

/// CPU time (user + system) a process has used, in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: i32) -> u64 {
    stat_ticks(pid, &[11, 12])
}

/// CPU time of a process and of its children that have exited.
fn cpu_ticks_with_reaped(pid: i32) -> u64 {
    stat_ticks(pid, &[11, 12, 13, 14])
}

fn stat_ticks(pid: i32, indexes: &[usize]) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    // After the command name: utime, stime, cutime, cstime are the 12th to 15th fields.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    indexes.iter().map(|&i| field(i)).sum()
}

/// CPU time of a PostgreSQL server: its postmaster, the backends it has reaped, and every
/// process under it now.
pub fn server_cpu_ticks(postmaster: i32) -> u64 {
    cpu_ticks_with_reaped(postmaster)
        + crate::processes::children_of(postmaster)
            .into_iter()
            .map(cpu_ticks)
            .sum::<u64>()
}

/// Percent of one core that `ticks` clock ticks are over `window`.
pub fn percent_of_a_core(ticks: u64, window: Duration) -> f64 {
    ticks as f64 / 100.0 / window.as_secs_f64() * 100.0
}

/// The `p`-th percentile (0–100) of `values`, nearest rank.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
