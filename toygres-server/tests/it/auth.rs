//! Every API route but `/healthz` answers 401 without the right bearer token, and a
//! refused request changes nothing.

use reqwest::{Method, StatusCode};
use toygres_domain::ErrorCode;
use toygres_domain::api::{ErrorBody, InstanceList};
use toygres_test_support::server::{ApiTls, ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_healthz_needs_the_token() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    let http = reqwest::Client::new();
    let routes = [
        (Method::GET, "/api/v1/instances"),
        (Method::POST, "/api/v1/instances"),
        (Method::GET, "/api/v1/instances/shop"),
        (Method::DELETE, "/api/v1/instances/shop"),
        (Method::GET, "/api/v1/instances/shop/connection"),
        (Method::GET, "/api/v1/no-such-route"),
        (Method::GET, "/no-such-route"),
        (Method::PUT, "/api/v1/instances"),
    ];
    let wrong_tokens = [
        None,
        Some("Bearer wrong-token-of-some-length".to_string()),
        Some(format!("Bearer {}x", server.token)),
        Some(format!("Bearer {}", &server.token[1..])),
        Some(format!("Basic {}", server.token)),
        Some(server.token.clone()),
        Some("Bearer ".to_string()),
    ];
    for (method, path) in &routes {
        for authorization in &wrong_tokens {
            let mut request = http
                .request(method.clone(), format!("{}{path}", server.url))
                .json(&serde_json::json!({ "name": "shop" }));
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {authorization:?}"
            );
            let body: ErrorBody = response.json().await.unwrap();
            assert_eq!(body.error, ErrorCode::Unauthorized);
        }
    }

    let health = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let listed: InstanceList = http
        .get(format!("{}/api/v1/instances", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed.instances.is_empty(),
        "refused creates created nothing"
    );
    let unknown = http
        .get(format!("{}/api/v1/no-such-route", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "with the token");

    let unauthorized = server
        .cli_with_token(&["list"], Some("wrong-token-of-some-length"))
        .await;
    assert_eq!(unauthorized.status.code(), Some(4));
    let no_token = server.cli_with_token(&["list"], None).await;
    assert_eq!(no_token.status.code(), Some(4));
    assert!(
        !server.log().contains(&server.token),
        "the token is never logged"
    );

    // Every refusal is counted; the log has one line for this source, not one each.
    let refused = routes.len() * wrong_tokens.len() + 2;
    let metrics = http
        .get(format!("{}/metrics", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("toygres_api_unauthorized_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(counted as usize, refused, "{metrics}");
    let lines = server
        .log()
        .lines()
        .filter(|line| line.contains("refused requests without a valid API token"))
        .count();
    assert_eq!(lines, 1, "{} refusals, logged once per minute", refused);
}

/// With `--tls-cert` and `--tls-key` the API speaks TLS only; the CLI trusts the server's
/// CA with `--server-ca`, and without it refuses the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_speaks_tls_when_given_a_certificate() {
    let tls = ApiTls::for_loopback();
    let server = TestServer::start(ServerOptions {
        api_tls: Some(tls.clone()),
        ..ServerOptions::embedded()
    })
    .await;
    assert!(server.url.starts_with("https://"));
    let listed = server.cli_ok(&["list", "-o", "json"]).await;
    assert!(listed.contains("\"instances\""), "{listed}");
    let response = tls
        .client()
        .get(format!("{}/api/v1/instances", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let plain = server.url.replace("https://", "http://");
    assert!(
        reqwest::get(format!("{plain}/healthz")).await.is_err(),
        "no plain HTTP on a TLS address"
    );
    let untrusting =
        tokio::process::Command::new(toygres_test_support::server::binary("toygres-cli"))
            .args(["list", "--server", &server.url, "--token", &server.token])
            .env_remove("TOYGRES_SERVER_CA")
            .output()
            .await
            .unwrap();
    assert_eq!(untrusting.status.code(), Some(4), "{untrusting:?}");
}

/// Tokens can come from files, so they never appear on a command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_can_come_from_files() {
    let token = "file-token-0123456789abcdef";
    let mut options = ServerOptions::embedded();
    let token_file = options.data_dir.join("given-token");
    std::fs::create_dir_all(&options.data_dir).unwrap();
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    options.extra_args = vec!["--api-token-file".into(), token_file.display().to_string()];
    let mut server = TestServer::spawn(options);
    server.wait_until_serving().await;
    server.token = token.to_string();
    assert!(
        !server.options.data_dir.join("api-token").exists(),
        "no token was generated"
    );

    let with_file = server
        .cli_with_token(
            &["list", "--token-file", &token_file.display().to_string()],
            None,
        )
        .await;
    assert_eq!(with_file.status.code(), Some(0), "{with_file:?}");
    let both = server
        .cli_with_token(
            &["list", "--token", token, "--token-file", "/nonexistent"],
            None,
        )
        .await;
    assert_eq!(both.status.code(), Some(2), "one source of token at a time");
    let missing = server
        .cli_with_token(&["list", "--token-file", "/nonexistent/token"], None)
        .await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the token file"));
}
