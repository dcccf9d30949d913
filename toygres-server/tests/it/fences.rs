//! A fenced platform call holds its record's lock, and so a connection, for its whole
//! length. Sixteen slow deploys at once (their `initdb` frozen, or waiting behind the
//! frozen one inside their fence) hold sixteen connections of the fence pool: the API
//! still answers and health checks are still recorded, and once the deploys go on every
//! create finishes. On the pool the API shares, they took all ten connections: every
//! request answered 503 and creates failed on "pool timed out".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_test_support::processes::working_in;
use toygres_test_support::server::{ServerOptions, TestServer};
use toygres_test_support::{TestDatabase, eventually};

const SLOW_DEPLOYS: usize = 16;

/// Freezes every `initdb` under `dir` as it starts, until `done`; the pids it froze.
fn freeze_initdb_under(
    dir: std::path::PathBuf,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<i32>> {
    tokio::spawn(async move {
        let mut frozen = vec![];
        while !done.load(Ordering::SeqCst) {
            for pid in working_in("initdb", &dir) {
                if !frozen.contains(&pid) {
                    kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();
                    frozen.push(pid);
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        frozen
    })
}

async fn count(db: &TestDatabase, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_fenced_deploys_leave_the_api_and_health_recording_alone() {
    let workers = SLOW_DEPLOYS.to_string();
    let server = TestServer::start(ServerOptions {
        extra_args: [
            "--platform-workers",
            &workers,
            "--warm-pool-size",
            "0",
            "--max-concurrent-initdb",
            "1",
        ]
        .map(String::from)
        .to_vec(),
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "steady", "--wait"]).await;
    let db = TestDatabase::connect(&server.database_url().await).await;

    let done = Arc::new(AtomicBool::new(false));
    let freezer = freeze_initdb_under(server.options.data_dir.clone(), done.clone());
    let names: Vec<String> = (0..SLOW_DEPLOYS).map(|i| format!("slow-{i}")).collect();
    for name in &names {
        server.cli_ok(&["create", name]).await;
    }
    eventually(
        "every deploy to hold its fence",
        Duration::from_secs(60),
        || async {
            let held = count(
                &db,
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'",
            )
            .await;
            (held >= SLOW_DEPLOYS as i64).then_some(())
        },
    )
    .await;

    let listed = server.cli(&["list"]).await;
    assert!(
        listed.status.success(),
        "the API answers: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let checks = "SELECT count(*) FROM toygres_cms.health_checks";
    let before = count(&db, checks).await;
    eventually(
        "health checks recorded meanwhile",
        Duration::from_secs(20),
        || async { (count(&db, checks).await > before).then_some(()) },
    )
    .await;

    done.store(true, Ordering::SeqCst);
    for pid in freezer.await.unwrap() {
        kill(Pid::from_raw(pid), Signal::SIGCONT).unwrap();
    }
    for name in &names {
        server.cli_ok(&["wait", name, "--for", "running"]).await;
    }
    for name in names.iter().map(String::as_str).chain(["steady"]) {
        server.cli_ok(&["delete", name]).await;
    }
    for name in names.iter().map(String::as_str).chain(["steady"]) {
        server.cli_ok(&["wait", name, "--for", "deleted"]).await;
    }
}
