//! Listing operations with 5,000 in the store, against the same list with about ten, in
//! the same run (real server, embedded database, release build): the first page, a page
//! of one instance's operations, and a page of one kind.
//!
//! The 5,000 are real orchestrations of the server: removals of backups that do not
//! exist, asked for through the duroxide client as the API would; each fails after its
//! retries, and the lists are timed once all have ended.
//!
//! `cargo build --release -p toygres-cli -p toygres-server && cargo bench -p toygres-server --bench operations`

use std::time::{Duration, Instant};

use toygres_domain::api::OperationList;
use toygres_orchestrations::names;
use toygres_orchestrations::types::DeleteBackupInput;
use toygres_test_support::bench::{report, report_ratio};
use toygres_test_support::control_plane::duroxide_client;
use toygres_test_support::eventually;
use toygres_test_support::server::{ServerOptions, TestServer};
use uuid::Uuid;

const MANY: usize = 5_000;
const SAMPLES: usize = 50;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        extra_args: vec!["--warm-pool-size".into(), "0".into()],
        ..ServerOptions::embedded()
    })
    .await;
    for name in ["shop", "cafe"] {
        server.cli_ok(&["create", name, "--wait"]).await;
    }
    server.cli_ok(&["stop", "cafe", "--wait"]).await;
    let http = reqwest::Client::new();
    let queries = [
        ("first page", "limit=50"),
        ("one instance", "instance=shop&limit=50"),
        ("one kind", "kind=create&limit=50"),
    ];
    let mut few = Vec::new();
    for (label, query) in queries {
        let (count, times) = sample(&server, &http, query).await;
        report(&format!("{label}, {count} of few"), &times);
        few.push(times);
    }

    let client = duroxide_client(&server.database_url().await).await;
    let started = Instant::now();
    for _ in 0..MANY {
        let backup_id = Uuid::new_v4();
        client
            .start_orchestration_typed(
                &names::instance_ids::delete_backup(backup_id),
                names::orchestrations::DELETE_BACKUP,
                DeleteBackupInput { backup_id },
            )
            .await
            .expect("start a removal");
    }
    eventually("every removal ended", Duration::from_secs(1800), || async {
        let running = list(&server, &http, "kind=delete_backup&status=running&limit=1").await;
        running.operations.is_empty().then_some(())
    })
    .await;
    println!(
        "{MANY} operations started and ended in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    for ((label, query), few) in queries.iter().zip(few) {
        let (count, times) = sample(&server, &http, query).await;
        report(&format!("{label}, {count} of {MANY}+"), &times);
        report_ratio(&format!("{label}: {MANY}+ / few"), &times, &few);
    }
}

/// `SAMPLES` timings of `GET /operations?{query}`, and how many the page held.
async fn sample(
    server: &TestServer,
    http: &reqwest::Client,
    query: &str,
) -> (usize, Vec<Duration>) {
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..SAMPLES {
        let started = Instant::now();
        count = list(server, http, query).await.operations.len();
        times.push(started.elapsed());
    }
    (count, times)
}

async fn list(server: &TestServer, http: &reqwest::Client, query: &str) -> OperationList {
    http.get(format!("{}/api/v1/operations?{query}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("a list")
        .json()
        .await
        .expect("an operation list")
}
