//! Fleets through the real server and CLI: labels set at create and changed later,
//! `list -l` with kubectl's selectors, a batch create as one operation, a bulk delete by
//! selector that deletes exactly the selected instances, asks first, and does nothing more
//! when repeated; a server killed during a batch that finishes it once; and a batch of 50
//! creates that leaves watched instances' health checks on time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use toygres_domain::api::{HealthHistory, InstanceList, InstanceView, OperationDetail};
use toygres_domain::{OperationKind, OperationStatus};
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

/// The names `list -l selector` prints, sorted.
async fn selected(server: &TestServer, selector: &str) -> Vec<String> {
    let list: InstanceList =
        serde_json::from_str(&server.cli_ok(&["-o", "json", "list", "-l", selector]).await)
            .unwrap();
    let mut names: Vec<String> = list.instances.into_iter().map(|i| i.name).collect();
    names.sort();
    names
}

async fn get(server: &TestServer, name: &str) -> InstanceView {
    serde_json::from_str(&server.cli_ok(&["-o", "json", "get", name]).await).unwrap()
}

/// The ids of the batch operations, newest first, with their status.
async fn batches(server: &TestServer) -> Vec<(String, String)> {
    let list = server
        .cli_ok(&["operations", "list", "--kind", "batch"])
        .await;
    list.lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_string(), line.to_string()))
        })
        .filter(|(id, _)| id.starts_with("batch-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_pick_instances_and_a_bulk_delete_removes_exactly_those() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    let created = server
        .cli_ok(&[
            "create", "web", "--count", "3", "--label", "team=web", "--wait",
        ])
        .await;
    assert!(created.contains("created 3 of 3"), "{created}");
    server
        .cli_ok(&[
            "create",
            "db",
            "--label",
            "team=db",
            "--label",
            "tier=gold",
            "--wait",
        ])
        .await;
    assert_eq!(get(&server, "web-2").await.labels["team"], "web");

    assert_eq!(
        selected(&server, "team=web").await,
        ["web-1", "web-2", "web-3"]
    );
    assert_eq!(selected(&server, "team in (web, db)").await.len(), 4);
    assert_eq!(
        selected(&server, "!tier").await,
        ["web-1", "web-2", "web-3"]
    );
    assert_eq!(selected(&server, "tier,team!=web").await, ["db"]);
    let bad = server.cli(&["list", "-l", "team in (web"]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");

    let labelled = server
        .cli_ok(&["label", "db", "tier-", "team=data", "owner=ops"])
        .await;
    assert!(labelled.contains("owner=ops, team=data"), "{labelled}");
    assert_eq!(selected(&server, "team=data").await, ["db"]);
    assert!(selected(&server, "tier").await.is_empty());
    let refused = server.cli(&["label", "db", "team_=x"]).await;
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("label key"));

    let unconfirmed = server.cli(&["delete", "-l", "team=web"]).await;
    assert_eq!(unconfirmed.status.code(), Some(2), "{unconfirmed:?}");
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    assert_eq!(
        selected(&server, "team=web").await.len(),
        3,
        "nothing deleted"
    );

    let deleted = server
        .cli_ok(&["delete", "-l", "team=web", "--yes", "--wait"])
        .await;
    assert!(deleted.contains("deleted 3 of 3"), "{deleted}");
    assert!(selected(&server, "team=web").await.is_empty());
    assert_eq!(selected(&server, "team=data").await, ["db"], "untouched");
    let again = server
        .cli_ok(&["delete", "-l", "team=web", "--yes", "--wait"])
        .await;
    assert!(again.contains("nothing to delete"), "{again}");

    let batches = batches(&server).await;
    assert_eq!(
        batches.len(),
        2,
        "one create batch, one delete batch: {batches:?}"
    );
    assert!(
        batches.iter().all(|(_, line)| line.contains("completed")),
        "{batches:?}"
    );
    let detail: OperationDetail = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "operations", "show", &batches[0].0])
            .await,
    )
    .unwrap();
    let output = detail.output.unwrap();
    assert_eq!(output["total"], 3);
    assert_eq!(output["failed"].as_array().unwrap().len(), 0);
    assert_eq!(
        detail.summary.step.as_deref(),
        Some("3 of 3 done, 0 failed, 0 running, 0 waiting")
    );
    let mut children: Vec<_> = detail
        .children
        .iter()
        .map(|child| (child.kind, child.instance.as_deref(), child.status))
        .collect();
    children.sort_by_key(|(_, instance, _)| instance.map(str::to_string));
    assert_eq!(
        children,
        ["web-1", "web-2", "web-3"].map(|name| (
            OperationKind::Delete,
            Some(name),
            OperationStatus::Completed
        )),
        "the batch's children are the deletes it started"
    );
    server.cli_ok(&["delete", "db", "--wait"]).await;
}

/// The step of batch operation `id` (`3 of 10 done, ...`) and its output once it ended.
async fn batch_detail(server: &TestServer, id: &str) -> OperationDetail {
    serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "operations", "show", id])
            .await,
    )
    .unwrap()
}

/// How many children of a batch the step says are done.
fn done_of(detail: &OperationDetail) -> usize {
    detail
        .summary
        .step
        .as_deref()
        .and_then(|step| step.split(" of ").next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_batch_finishes_it_once() {
    const COUNT: usize = 10;
    let mut server = TestServer::start(ServerOptions {
        extra_args: vec!["--batch-parallelism".into(), "2".into()],
        ..ServerOptions::embedded()
    })
    .await;
    server
        .cli_ok(&["create", "crash", "--count", &COUNT.to_string()])
        .await;
    let (batch, _) = batches(&server).await.remove(0);
    let done = eventually(
        "some of the batch done",
        Duration::from_secs(120),
        || async {
            let done = done_of(&batch_detail(&server, &batch).await);
            (done >= 2).then_some(done)
        },
    )
    .await;
    server.kill9().await;
    assert!(done < COUNT, "killed while the batch ran ({done} done)");

    server.restart().await;
    let detail = eventually("the batch to end", Duration::from_secs(300), || async {
        let detail = batch_detail(&server, &batch).await;
        detail.output.is_some().then_some(detail)
    })
    .await;
    let output = detail.output.unwrap();
    assert_eq!(output["total"], COUNT);
    assert_eq!(output["failed"].as_array().unwrap().len(), 0, "{output}");
    for number in 1..=COUNT {
        let name = format!("crash-{number}");
        assert_eq!(
            get(&server, &name).await.state,
            toygres_domain::InstanceState::Running,
            "{name}"
        );
        let creates = server
            .cli_ok(&[
                "operations",
                "list",
                "--instance",
                &name,
                "--kind",
                "create",
            ])
            .await;
        assert_eq!(creates.lines().skip(1).count(), 1, "one create: {creates}");
        assert_eq!(
            postmasters_for(&server.instance_data_dir(&name)).len(),
            1,
            "one server of {name}"
        );
    }
    let all: InstanceList =
        serde_json::from_str(&server.cli_ok(&["-o", "json", "list"]).await).unwrap();
    assert_eq!(all.instances.len(), COUNT, "no other instance");
    let names: Vec<String> = (1..=COUNT).map(|n| format!("crash-{n}")).collect();
    let mut args = vec!["delete".to_string()];
    args.extend(names);
    args.extend(["--yes".to_string(), "--wait".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.cli_ok(&args).await;
}

/// Gaps between the health checks of `name` since `from`, in seconds.
async fn check_gaps(server: &TestServer, name: &str, from: DateTime<Utc>) -> Vec<f64> {
    let history: HealthHistory = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "health", name, "--limit", "500"])
            .await,
    )
    .unwrap();
    let mut times: Vec<DateTime<Utc>> = history
        .checks
        .iter()
        .map(|check| check.at)
        .filter(|at| *at >= from)
        .collect();
    times.sort();
    times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).as_seconds_f64())
        .collect()
}

/// The load: a batch of 50 creates while 20 instances are watched every 5 s. All
/// 50 run, none fails, and no watched instance misses a check (no gap of two intervals);
/// the gaps' median, p95 (target 1.2× the interval) and max are printed. Run alone:
/// beside other tests on two cores, their load, not the batch's, decides the gaps (p95
/// 10.6 s when it ran among the others).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load test: it measures timing under the load it makes, so it runs alone (scripts/test runs it after the rest)"]
async fn a_batch_of_50_creates_leaves_watched_instances_checked_on_time() {
    const INTERVAL: f64 = 5.0;
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: INTERVAL as u64,
        extra_args: std::env::var("BATCH_PARALLELISM")
            .map(|p| vec!["--batch-parallelism".to_string(), p])
            .unwrap_or_default(),
        ..ServerOptions::embedded()
    })
    .await;
    let watched = server
        .cli_ok(&[
            "create",
            "watched",
            "--count",
            "20",
            "--label",
            "role=watched",
            "--wait",
            "--timeout",
            "600",
        ])
        .await;
    assert!(watched.contains("created 20 of 20"), "{watched}");
    let from = Utc::now();
    let started = std::time::Instant::now();
    let batch = server
        .cli_ok(&[
            "create",
            "burst",
            "--count",
            "50",
            "--label",
            "role=burst",
            "--wait",
            "--timeout",
            "900",
        ])
        .await;
    eprintln!(
        "batch of 50 creates beside 20 watched instances: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(batch.contains("created 50 of 50"), "{batch}");
    let list: InstanceList = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "list", "-l", "role=burst"])
            .await,
    )
    .unwrap();
    assert_eq!(list.instances.len(), 50);
    assert!(
        list.instances
            .iter()
            .all(|i| i.state == toygres_domain::InstanceState::Running),
        "all 50 run"
    );

    let mut gaps = Vec::new();
    for number in 1..=20 {
        gaps.extend(check_gaps(&server, &format!("watched-{number}"), from).await);
    }
    gaps.sort_by(f64::total_cmp);
    assert!(
        gaps.len() >= 20,
        "the watched instances were checked: {gaps:?}"
    );
    let p95 = gaps[gaps.len() * 95 / 100];
    let max = gaps[gaps.len() - 1];
    eprintln!(
        "health gaps of 20 watched instances during the batch: {} gaps, median {:.2} s, p95 {p95:.2} s ({:.2}x the interval; target 1.2x), max {max:.2} s (interval {INTERVAL} s)",
        gaps.len(),
        gaps[gaps.len() / 2],
        p95 / INTERVAL
    );
    // Timing is measured and printed, not held to a tight bound (2 cores share every
    // process here); a check missed altogether, a gap of two intervals, is starvation.
    assert!(
        max < 2.0 * INTERVAL,
        "a watched instance missed a check during the batch: gap {max:.2} s"
    );

    let deleted = server
        .cli_ok(&[
            "delete",
            "-l",
            "role",
            "--yes",
            "--wait",
            "--timeout",
            "600",
        ])
        .await;
    assert!(deleted.contains("deleted 70 of 70"), "{deleted}");
}
