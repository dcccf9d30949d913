//! Logs operators can filter: with `--log-format json`, every line the orchestrations and
//! activities write about an instance carries its name (`instance`) and the orchestration
//! id as structured fields, whatever the message says; and the reads the CLI's `--wait`
//! polls with log at debug, while changes log at info. In text, a line a person can read:
//! short, with the instance and its operation on every line about it.

use serde_json::Value;
use toygres_test_support::server::{ServerOptions, TestServer};

/// The fields of the span a line was written in (the innermost one).
fn span(line: &Value) -> &Value {
    &line["span"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_about_an_instance_names_it_and_its_orchestration() {
    let server = TestServer::start(ServerOptions {
        extra_args: ["--log-format", "json", "--warm-pool-size", "0"]
            .map(String::from)
            .to_vec(),
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "shop", "--wait"]).await;
    server.cli_ok(&["restart", "shop", "--wait"]).await;
    server.cli_ok(&["backup", "create", "shop", "--wait"]).await;
    server.cli_ok(&["delete", "shop", "--wait"]).await;

    let log = server.log();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let from = |line: &Value, prefix: &str| {
        line["target"]
            .as_str()
            .is_some_and(|target| target.starts_with(prefix))
    };
    let workflow_lines: Vec<&Value> = lines
        .iter()
        .filter(|line| from(line, "duroxide::activity") || from(line, "duroxide::orchestration"))
        .filter(|line| line["message"].as_str().is_some_and(|m| m.contains("shop")))
        .collect();
    assert!(
        workflow_lines
            .iter()
            .any(|line| from(line, "duroxide::activity"))
            && workflow_lines
                .iter()
                .any(|line| from(line, "duroxide::orchestration")),
        "the create, restart, backup and delete wrote no line about shop:\n{log}"
    );
    for line in &workflow_lines {
        assert_eq!(span(line)["instance"], "shop", "{line}");
        let orchestration = span(line)["orchestration_id"].as_str().unwrap_or_default();
        assert_eq!(Some(orchestration), line["instance_id"].as_str(), "{line}");
    }

    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| span(line)["method"].is_string() && line["message"] == "answered")
        .collect();
    assert!(
        requests
            .iter()
            .any(|line| span(line)["method"] == "POST" && line["level"] == "INFO"),
        "a change logs at info:\n{log}"
    );
    let reads_at_info: Vec<&&Value> = requests
        .iter()
        .filter(|line| span(line)["method"] == "GET")
        .collect();
    assert!(
        reads_at_info.is_empty(),
        "reads log at debug: {reads_at_info:?}"
    );
}

/// A text line about `name` (beyond a request's path) names it and an operation up
/// front: `TIME LEVEL instance=NAME op=ID: message`.
fn names_instance_and_operation(line: &str, name: &str) -> bool {
    let labels = line.split_whitespace().skip(2).take(2).collect::<Vec<_>>();
    labels.first() == Some(&format!("instance={name}").as_str())
        && labels
            .get(1)
            .and_then(|op| op.strip_prefix("op="))
            .is_some_and(|id| id.trim_end_matches(':').len() > 1)
}

/// The median and the 90th percentile of `lengths`.
fn median_and_p90(mut lengths: Vec<usize>) -> (usize, usize) {
    lengths.sort_unstable();
    let at = |fraction: f64| lengths[((lengths.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.9))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_log_is_a_line_a_person_can_read() {
    let server = TestServer::start(ServerOptions {
        extra_args: ["--warm-pool-size", "0", "--prune-interval-secs", "1"]
            .map(String::from)
            .to_vec(),
        ..ServerOptions::embedded()
    })
    .await;
    let started = server.log().len();
    server.cli_ok(&["create", "shop", "--wait"]).await;
    server.cli_ok(&["stop", "shop", "--wait"]).await;
    server.cli_ok(&["start", "shop", "--wait"]).await;
    server.cli_ok(&["delete", "shop", "--wait"]).await;

    let log = server.log();
    let session: Vec<&str> = log[started..].lines().collect();
    let info: Vec<&str> = session
        .iter()
        .copied()
        .filter(|line| line.split_whitespace().nth(1) == Some("INFO"))
        .collect();
    let (median, p90) = median_and_p90(info.iter().map(|line| line.len()).collect());
    eprintln!(
        "text log of a create/stop/start/delete session: {} INFO lines, median {median} chars, p90 {p90}",
        info.len()
    );
    assert!(median <= 160, "median INFO line {median} chars:\n{log}");

    let about_shop: Vec<&str> = session
        .iter()
        .copied()
        .filter(|line| line.replace("/instances/shop", "").contains("shop"))
        .collect();
    assert!(
        about_shop.len() >= 8,
        "the create, stop, start and delete wrote lines about shop:\n{log}"
    );
    for line in &about_shop {
        assert!(
            names_instance_and_operation(line, "shop"),
            "names shop and its operation: {line}"
        );
    }
    let pruner_structs: Vec<&&str> = info
        .iter()
        .filter(|line| line.contains("PruneReport {") || line.contains("InstanceFilter {"))
        .collect();
    assert!(
        pruner_structs.is_empty(),
        "the pruner's passes read as words at info: {pruner_structs:?}"
    );
}
