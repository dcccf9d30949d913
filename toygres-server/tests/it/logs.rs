//! Logs operators can filter: with `--log-format json`, every line the orchestrations and
//! activities write about an instance carries its name (`instance`) and the orchestration
//! id as structured fields, whatever the message says; and the reads the CLI's `--wait`
//! polls with log at debug, while changes log at info.

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
