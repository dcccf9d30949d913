//! A fleet on one machine (real server, embedded database, release build):
//!
//! 1. A burst: 200 creates sent at once; how many end `running` and how many `failed`.
//! 2. Watching: those 200 instances with 5 s health checks, first alone for 2 minutes (the
//!    control database's CPU per check), then for 5 minutes while 30 more creates run in
//!    the middle; the gaps between consecutive checks of each instance, against the
//!    interval, and the control database's CPU.
//! 3. 230 deletes at once; how many instances are left running.
//!
//! Heavy (about 17 minutes, 230 PostgreSQL servers): run on demand, not in CI.
//! `cargo build --release -p toygres-cli -p toygres-server && cargo bench -p toygres-server --bench fleet`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use toygres_domain::InstanceState;
use toygres_domain::api::InstanceList;
use toygres_test_support::TestDatabase;
use toygres_test_support::bench::{cpu_ticks, percent_of_a_core, percentile, server_cpu_ticks};
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

const BURST: usize = 200;
const DURING: usize = 30;
const INTERVAL_SECS: u64 = 5;
const WINDOW: Duration = Duration::from_secs(300);
/// Watching alone, before the window with creates: what a check costs the control database.
const QUIET: Duration = Duration::from_secs(120);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: INTERVAL_SECS,
        ..ServerOptions::embedded()
    })
    .await;
    let http = reqwest::Client::new();

    let started = Instant::now();
    create_all(&server, &http, (0..BURST).map(|i| format!("fleet-{i}"))).await;
    let settled = settle(&server, &http, BURST).await;
    println!(
        "burst: {BURST} creates at once -> {} running, {} failed, all settled after {:.0}s",
        settled.0,
        settled.1,
        started.elapsed().as_secs_f64()
    );

    let db = TestDatabase::connect(&server.database_url().await).await;
    let cms = postmasters_for(&server.options.data_dir.join("control-plane/cms/data"))[0];
    let server_pid = server.pid().expect("the server runs");

    let quiet_start = Utc::now();
    let (cms_before, server_before) = (server_cpu_ticks(cms), cpu_ticks(server_pid));
    tokio::time::sleep(QUIET).await;
    let cms_cpu = percent_of_a_core(server_cpu_ticks(cms) - cms_before, QUIET);
    let server_cpu = percent_of_a_core(cpu_ticks(server_pid) - server_before, QUIET);
    let checks = checks_between(&db, quiet_start, Utc::now()).await;
    let cms_ms_per_check = cms_cpu / 100.0 * QUIET.as_secs_f64() * 1000.0 / checks.max(1) as f64;
    println!(
        "watching only, {}s: {checks} checks; control database {cms_cpu:.1}% of a core ({cms_ms_per_check:.2} ms of CPU per check; target 5 ms, 20% of a core), server {server_cpu:.1}%",
        QUIET.as_secs()
    );

    let (cms_before, server_before) = (server_cpu_ticks(cms), cpu_ticks(server_pid));
    let window_start = Utc::now();
    tokio::time::sleep(WINDOW / 3).await;
    create_all(&server, &http, (0..DURING).map(|i| format!("late-{i}"))).await;
    tokio::time::sleep(WINDOW - WINDOW / 3).await;
    let window_end = Utc::now();
    let cms_cpu = percent_of_a_core(server_cpu_ticks(cms) - cms_before, WINDOW);
    let server_cpu = percent_of_a_core(cpu_ticks(server_pid) - server_before, WINDOW);
    let late = settle(&server, &http, BURST + DURING).await;
    println!(
        "{DURING} creates during the window -> {} running, {} failed in all",
        late.0, late.1
    );

    let gaps = check_gaps(&db, window_start, window_end).await;
    let interval = INTERVAL_SECS as f64;
    let p95 = percentile(&gaps, 95.0);
    let max = percentile(&gaps, 100.0);
    println!(
        "health checks of {BURST} instances over {}s: {} gaps; p95 {p95:.2}s (ratio {:.2}), max {max:.2}s (ratio {:.2}), median {:.2}s",
        WINDOW.as_secs(),
        gaps.len(),
        p95 / interval,
        max / interval,
        percentile(&gaps, 50.0)
    );
    println!(
        "CPU over the window: control database {cms_cpu:.1}% of a core, server {server_cpu:.1}%"
    );

    let started = Instant::now();
    let names: Vec<String> = (0..BURST)
        .map(|i| format!("fleet-{i}"))
        .chain((0..DURING).map(|i| format!("late-{i}")))
        .collect();
    delete_all(&server, &http, &names).await;
    eventually(
        "every instance deleted",
        Duration::from_secs(1800),
        || async {
            list(&server, &http)
                .await?
                .instances
                .is_empty()
                .then_some(())
        },
    )
    .await;
    let still_running = names
        .iter()
        .filter(|name| !postmasters_for(&server.instance_data_dir(name)).is_empty())
        .count();
    println!(
        "{} deletes at once -> {still_running} left running, done after {:.0}s",
        names.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn create_all(
    server: &TestServer,
    http: &reqwest::Client,
    names: impl Iterator<Item = String>,
) {
    let requests: Vec<_> = names
        .map(|name| {
            let request = http
                .post(format!("{}/api/v1/instances", server.url))
                .bearer_auth(&server.token)
                .json(&serde_json::json!({ "name": name }));
            tokio::spawn(request.send())
        })
        .collect();
    for request in requests {
        let response = request.await.unwrap().expect("the API answers");
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
    }
}

async fn delete_all(server: &TestServer, http: &reqwest::Client, names: &[String]) {
    let requests: Vec<_> = names
        .iter()
        .map(|name| {
            let request = http
                .delete(format!("{}/api/v1/instances/{name}", server.url))
                .bearer_auth(&server.token);
            tokio::spawn(request.send())
        })
        .collect();
    for request in requests {
        let response = request.await.unwrap().expect("the API answers");
        assert_eq!(response.status(), 202);
    }
}

/// Waits until `total` instances are running or failed; returns both counts.
async fn settle(server: &TestServer, http: &reqwest::Client, total: usize) -> (usize, usize) {
    eventually(
        "every create to settle",
        Duration::from_secs(3600),
        || async {
            let list = list(server, http).await?;
            let count = |state| list.instances.iter().filter(|i| i.state == state).count();
            let (running, failed) = (count(InstanceState::Running), count(InstanceState::Failed));
            (running + failed >= total).then_some((running, failed))
        },
    )
    .await
}

async fn list(server: &TestServer, http: &reqwest::Client) -> Option<InstanceList> {
    http.get(format!("{}/api/v1/instances", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// Health rows written between `from` and `to`, for every instance.
async fn checks_between(db: &TestDatabase, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM toygres_cms.health_checks WHERE checked_at BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&db.pool)
    .await
    .expect("count health checks")
}

/// Seconds between consecutive checks of each burst instance within the window, counting
/// the window's start and end as checks, so an instance never checked shows as one long
/// gap rather than none.
async fn check_gaps(db: &TestDatabase, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<f64> {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT i.name, h.checked_at FROM toygres_cms.health_checks h
         JOIN toygres_cms.instances i ON i.id = h.instance_id
         WHERE i.name LIKE 'fleet-%' AND h.checked_at BETWEEN $1 AND $2
         ORDER BY i.name, h.checked_at",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await
    .expect("read health checks");
    let mut by_instance: BTreeMap<String, Vec<DateTime<Utc>>> = (0..BURST)
        .map(|i| (format!("fleet-{i}"), vec![from]))
        .collect();
    for (name, at) in rows {
        by_instance.entry(name).or_default().push(at);
    }
    by_instance.values_mut().for_each(|times| times.push(to));
    by_instance
        .values()
        .flat_map(|times| {
            times
                .windows(2)
                .map(|pair| (pair[1] - pair[0]).as_seconds_f64())
                .collect::<Vec<_>>()
        })
        .collect()
}
