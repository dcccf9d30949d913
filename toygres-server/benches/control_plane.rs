//! What a user of the local platform waits for, against floors measured by hand in the
//! same run (real CLI, real server, embedded database, release build):
//!
//! 1. `create --wait` with the warm pool and without it, against `initdb` + `pg_ctl start
//!    -w` + a first login.
//! 2. `delete --wait`, against `pg_ctl stop -m fast` + `rm -rf`.
//! 3. The first instance of a burst of 20 to be `running`, against a single create.
//! 4. `GET /api/v1/instances` with 20,000 deleted records, against the same list without.
//! 5. The server's CPU while idle with 10 watched instances, against idle with none.
//!
//! `cargo build --release -p toygres-cli -p toygres-server && cargo bench -p toygres-server --bench control_plane`

use std::time::{Duration, Instant};
use toygres_domain::InstanceState;

use toygres_domain::api::InstanceList;
use toygres_test_support::TestDatabase;
use toygres_test_support::bench::{
    cpu_ticks, create_by_hand, delete_by_hand, percent_of_a_core, report, report_ratio,
};
use toygres_test_support::eventually;
use toygres_test_support::server::{ServerOptions, TestServer};

const RUNS: usize = 5;
const BURST: usize = 20;
const DELETED_RECORDS: i64 = 20_000;
const LIST_SAMPLES: usize = 50;
const WATCHED: usize = 10;
const CPU_WINDOW: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (create_floor, delete_floor) = floors().await;
    report("create by hand (floor)", &create_floor);
    report("delete by hand (floor)", &delete_floor);

    let mut warm = server(&[]).await;
    let (warm_creates, warm_deletes) = create_and_delete(&warm, "warm", true).await;
    report("create --wait, warm pool", &warm_creates);
    report("delete --wait", &warm_deletes);
    report_ratio("create --wait warm / floor", &warm_creates, &create_floor);
    report_ratio("delete --wait / floor", &warm_deletes, &delete_floor);
    warm.terminate().await;

    let cold = server(&["--warm-pool-size", "0"]).await;
    let (cold_creates, _) = create_and_delete(&cold, "cold", false).await;
    report("create --wait, no pool", &cold_creates);
    report_ratio(
        "create --wait no pool / floor",
        &cold_creates,
        &create_floor,
    );

    let first = first_of_a_burst(&cold).await;
    println!(
        "first of a burst of {BURST} running after {:.2}s",
        first.as_secs_f64()
    );
    report_ratio("first of burst / single create", &[first], &cold_creates);

    let (empty, loaded) = list_latency(&cold).await;
    report("list, few records", &empty);
    report("list, 20,000 deleted records", &loaded);
    report_ratio("list with 20,000 deleted / without", &loaded, &empty);

    idle_cpu(&cold).await;
}

async fn floors() -> (Vec<Duration>, Vec<Duration>) {
    let (mut creates, mut deletes) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (took, made) = create_by_hand().await;
        creates.push(took);
        deletes.push(delete_by_hand(made).await);
    }
    (creates, deletes)
}

async fn server(extra: &[&str]) -> TestServer {
    TestServer::start(ServerOptions {
        health_check_interval_secs: 30,
        extra_args: extra.iter().map(|a| a.to_string()).collect(),
        ..ServerOptions::embedded()
    })
    .await
}

/// Times `create --wait` and `delete --wait`; with `refilled`, each create starts with a
/// full warm pool, as a create after a quiet moment would.
async fn create_and_delete(
    server: &TestServer,
    prefix: &str,
    refilled: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut creates, mut deletes) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        if refilled {
            eventually("a full warm pool", Duration::from_secs(60), || async {
                (warm_ready(server) >= 2).then_some(())
            })
            .await;
        }
        let name = format!("{prefix}-{run}");
        let started = Instant::now();
        server.cli_ok(&["create", &name, "--wait"]).await;
        creates.push(started.elapsed());
        let started = Instant::now();
        server.cli_ok(&["delete", &name, "--wait"]).await;
        deletes.push(started.elapsed());
    }
    (creates, deletes)
}

/// Ready directories in the server's warm pool (any major version).
fn warm_ready(server: &TestServer) -> usize {
    let pool = server.options.data_dir.join("instances/.warm-pool");
    std::fs::read_dir(pool)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .flat_map(|major| std::fs::read_dir(major.path()).into_iter().flatten())
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_none())
        .count()
}

async fn first_of_a_burst(server: &TestServer) -> Duration {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let requests: Vec<_> = (0..BURST)
        .map(|i| {
            let request = http
                .post(format!("{}/api/v1/instances", server.url))
                .bearer_auth(&server.token)
                .json(&serde_json::json!({ "name": format!("burst-{i}") }));
            tokio::spawn(request.send())
        })
        .collect();
    for request in requests {
        let response = request.await.unwrap().unwrap();
        assert_eq!(response.status(), 202);
    }
    let first = eventually("a running instance", Duration::from_secs(300), || async {
        let running = list(server, &http)
            .await?
            .instances
            .iter()
            .any(|i| i.state == InstanceState::Running);
        running.then(|| started.elapsed())
    })
    .await;
    eventually(
        "the whole burst running",
        Duration::from_secs(600),
        || async {
            let list = list(server, &http).await?;
            list.instances
                .iter()
                .all(|i| i.state == InstanceState::Running)
                .then_some(())
        },
    )
    .await;
    for i in 0..BURST {
        server.cli_ok(&["delete", &format!("burst-{i}")]).await;
    }
    eventually("the burst deleted", Duration::from_secs(600), || async {
        list(server, &http)
            .await?
            .instances
            .is_empty()
            .then_some(())
    })
    .await;
    first
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

async fn list_latency(server: &TestServer) -> (Vec<Duration>, Vec<Duration>) {
    let http = reqwest::Client::new();
    let sample = || async {
        let mut times = Vec::new();
        for _ in 0..LIST_SAMPLES {
            let started = Instant::now();
            list(server, &http).await.expect("a list");
            times.push(started.elapsed());
        }
        times
    };
    let empty = sample().await;
    let db = TestDatabase::connect(&server.database_url().await).await;
    sqlx::query(
        "INSERT INTO toygres_cms.instances
             (id, name, state, platform, postgres_version, storage_gb,
              create_orchestration_id, deleted_at)
         SELECT gen_random_uuid(), 'gone-' || g, 'deleted', 'local', '15', 10,
                'create-gone-' || g, now()
         FROM generate_series(1, $1) g",
    )
    .bind(DELETED_RECORDS)
    .execute(&db.pool)
    .await
    .expect("insert deleted records");
    sqlx::query("ANALYZE toygres_cms.instances")
        .execute(&db.pool)
        .await
        .expect("analyze");
    (empty, sample().await)
}

async fn idle_cpu(server: &TestServer) {
    let pid = server.pid().expect("the server runs");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_empty = cpu_over(pid, CPU_WINDOW).await;
    for i in 0..WATCHED {
        server
            .cli_ok(&["create", &format!("watched-{i}"), "--wait"])
            .await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_watching = cpu_over(pid, CPU_WINDOW).await;
    println!(
        "server CPU idle, 0 instances: {idle_empty:.2}% of one core over {}s",
        CPU_WINDOW.as_secs()
    );
    println!("server CPU idle, {WATCHED} instances (30 s checks): {idle_watching:.2}% of one core");
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

async fn cpu_over(pid: i32, window: Duration) -> f64 {
    let before = cpu_ticks(pid);
    tokio::time::sleep(window).await;
    percent_of_a_core(cpu_ticks(pid) - before, window)
}
