//! The server on the Kubernetes platform (against the test API server `scripts/test`
//! starts; skipped without `KUBECONFIG`): backups, restores and standbys are not there
//! yet, and every backup route, a restoring create and a create with standbys say so with
//! `unsupported_on_platform`, changing nothing.

use reqwest::StatusCode;
use serde_json::json;
use toygres_domain::api::ErrorBody;
use toygres_test_support::kubernetes::TestCluster;
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_restores_and_standbys_answer_unsupported_on_platform() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let server = TestServer::start(ServerOptions {
        extra_args: vec![
            "--platform".into(),
            "kubernetes".into(),
            "--kube-namespace".into(),
            namespace,
        ],
        ..ServerOptions::embedded()
    })
    .await;
    let backup = uuid::Uuid::new_v4();
    let requests = [
        ("POST", "/api/v1/instances/shop/backups".to_string(), None),
        ("GET", "/api/v1/backups".into(), None),
        ("GET", format!("/api/v1/backups/{backup}"), None),
        ("DELETE", format!("/api/v1/backups/{backup}"), None),
        ("GET", "/api/v1/instances/shop/backup-schedule".into(), None),
        (
            "PUT",
            "/api/v1/instances/shop/backup-schedule".into(),
            Some(json!({ "every_secs": 3600, "keep": 3 })),
        ),
        (
            "POST",
            "/api/v1/instances".into(),
            Some(json!({ "name": "copy", "from_instance": "shop" })),
        ),
        (
            "POST",
            "/api/v1/instances".into(),
            Some(json!({ "name": "pair", "standbys": 1 })),
        ),
    ];
    let http = reqwest::Client::new();
    for (method, path, body) in requests {
        let mut request = http
            .request(method.parse().unwrap(), format!("{}{path}", server.url))
            .bearer_auth(&server.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {text}");
        let error: ErrorBody = serde_json::from_str(&text).unwrap();
        assert_eq!(
            error.error.as_str(),
            "unsupported_on_platform",
            "{method} {path}"
        );
        assert!(error.message.contains("kubernetes"), "{}", error.message);
    }
    let listed = server.cli_ok(&["-o", "json", "list"]).await;
    assert!(
        !listed.contains("copy") && !listed.contains("pair"),
        "nothing was created: {listed}"
    );
}
