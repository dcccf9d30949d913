//! What a user of the local platform waits for, and what watching costs, against baselines
//! measured in the same run.
//!
//! 1. `toygres-cli create NAME --wait` wall time (real CLI, real server, embedded
//!    database), against the floor of any local PostgreSQL: initdb + start until it
//!    accepts connections.
//! 2. The server process's CPU while idle with 10 watched instances (30 s health checks),
//!    against the same server idle with none.
//!
//! `cargo build --release -p toygres-cli && cargo bench -p toygres-server --bench control_plane`

use std::time::{Duration, Instant};

use toygres_test_support::bench::{initdb_and_start, report, report_ratio};
use toygres_test_support::server::{ServerOptions, TestServer};

const RUNS: usize = 5;
const WATCHED: usize = 10;
const CPU_WINDOW: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut baseline = Vec::new();
    for _ in 0..RUNS {
        baseline.push(initdb_and_start().await);
    }
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 30,
        ..ServerOptions::embedded()
    })
    .await;
    let mut creates = Vec::new();
    for run in 0..RUNS {
        let name = format!("bench-{run}");
        let started = Instant::now();
        server.cli_ok(&["create", &name, "--wait"]).await;
        creates.push(started.elapsed());
        server.cli_ok(&["delete", &name, "--wait"]).await;
    }
    report("initdb + start (baseline)", &baseline);
    report("create --wait", &creates);
    report_ratio("create --wait / baseline", &creates, &baseline);

    let pid = server.pid().expect("the server runs");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_empty = cpu_percent(pid, CPU_WINDOW).await;
    for i in 0..WATCHED {
        server
            .cli_ok(&["create", &format!("watched-{i}"), "--wait"])
            .await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_watching = cpu_percent(pid, CPU_WINDOW).await;
    println!(
        "server CPU idle, 0 instances:   {idle_empty:.2}% of one core over {}s",
        CPU_WINDOW.as_secs()
    );
    println!(
        "server CPU idle, {WATCHED} instances: {idle_watching:.2}% of one core over {}s",
        CPU_WINDOW.as_secs()
    );
    println!(
        "ratio {WATCHED} instances / 0 instances: {:.2}",
        idle_watching / idle_empty.max(0.01)
    );
    for i in 0..WATCHED {
        server
            .cli_ok(&["delete", &format!("watched-{i}"), "--wait"])
            .await;
    }
}

/// CPU used by `pid` (user + system) over `window`, as a percentage of one core.
async fn cpu_percent(pid: i32, window: Duration) -> f64 {
    let before = cpu_ticks(pid);
    tokio::time::sleep(window).await;
    let used = cpu_ticks(pid) - before;
    let ticks_per_second = 100.0; // USER_HZ on Linux
    used as f64 / ticks_per_second / window.as_secs_f64() * 100.0
}

fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the server's stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
