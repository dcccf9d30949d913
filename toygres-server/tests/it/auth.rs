//! Every API route but `/healthz` answers 401 without the right bearer token, and a
//! refused request changes nothing.

use reqwest::{Method, StatusCode};
use toygres_domain::ErrorCode;
use toygres_domain::api::{ErrorBody, InstanceList};
use toygres_test_support::server::{ServerOptions, TestServer};

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
}
