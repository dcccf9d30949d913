//! `/metrics`: the token guards it on the API's address and not on `--metrics-listen`;
//! `promtool check metrics` accepts it; it carries duroxide's series and Toygres's
//! (instances by state and health, health-check latency, create/delete/backup durations,
//! operations by kind and status, reconciliation, API requests); and a real Prometheus
//! scrapes both addresses and answers a query about the fleet.

use std::time::Duration;

use toygres_test_support::database::free_port;
use toygres_test_support::eventually;
use toygres_test_support::prometheus::{self, Prometheus, SCRAPED_WITHIN, Target};
use toygres_test_support::server::{ServerOptions, TestServer};

/// The value of the sample `series` (name and labels exactly as exported).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_valid_complete_and_scraped_by_prometheus() {
    if !prometheus::installed() {
        toygres_test_support::skip_or_fail_in_ci("prometheus and promtool are not installed");
        return;
    }
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start(ServerOptions {
        extra_args: vec![
            "--metrics-listen".into(),
            metrics_address.clone(),
            "--warm-pool-size".into(),
            "0".into(),
        ],
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "seen", "--wait"]).await;
    server.cli_ok(&["create", "gone", "--wait"]).await;
    server.cli_ok(&["delete", "gone", "--wait"]).await;
    server.cli_ok(&["backup", "create", "seen", "--wait"]).await;

    let http = reqwest::Client::new();
    let on_api = format!("{}/metrics", server.url);
    let refused = http.get(&on_api).send().await.unwrap();
    assert_eq!(refused.status(), 401, "the API's address needs the token");
    let scrape = || async {
        let response = http
            .get(&on_api)
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let exposition = eventually(
        "a health check measured",
        Duration::from_secs(30),
        || async {
            let text = scrape().await;
            (sample(&text, "toygres_health_check_latency_seconds_count").unwrap_or(0.0) >= 1.0)
                .then_some(text)
        },
    )
    .await;
    prometheus::lint(&exposition).unwrap_or_else(|problems| panic!("promtool: {problems}"));
    for (series, at_least) in [
        ("toygres_instances{state=\"running\"}", 1.0),
        ("toygres_running_instances{health=\"healthy\"}", 1.0),
        ("toygres_create_duration_seconds_count", 2.0),
        ("toygres_delete_duration_seconds_count", 1.0),
        ("toygres_backup_duration_seconds_count", 1.0),
        (
            "toygres_operations{kind=\"create\",status=\"completed\"}",
            2.0,
        ),
        ("toygres_operations{kind=\"actor\",status=\"running\"}", 1.0),
        (
            "toygres_reconciliation_actions_total{action=\"system_started\"}",
            1.0,
        ),
        (
            "toygres_api_requests_total{route=\"/api/v1/instances\",method=\"POST\",status=\"202\"}",
            2.0,
        ),
        (
            "toygres_api_request_duration_seconds_count{route=\"/api/v1/instances\",method=\"POST\"}",
            2.0,
        ),
        ("duroxide_orchestration_starts_total", 0.0),
    ] {
        let value = sample(&exposition, series)
            .or_else(|| {
                // duroxide labels its counters; any labelled sample of the name will do.
                exposition
                    .lines()
                    .filter(|line| line.starts_with(&format!("{series}{{")))
                    .find_map(|line| line.rsplit(' ').next()?.parse().ok())
            })
            .unwrap_or_else(|| panic!("{series} is not exported:\n{exposition}"));
        assert!(
            value >= at_least,
            "{series} = {value}, expected at least {at_least}"
        );
    }
    assert!(
        !exposition.contains(&server.token),
        "the token is never a label or a value"
    );
    let unguarded = http
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unguarded.status(),
        200,
        "--metrics-listen serves without the token"
    );

    // A real Prometheus scrapes both addresses and answers about the fleet.
    let api_address = server.url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::start(&[
        Target {
            job: "toygres-api",
            address: &api_address,
            token: Some(&server.token),
        },
        Target {
            job: "toygres-metrics",
            address: &metrics_address,
            token: None,
        },
    ]);
    let running = eventually("Prometheus to answer", SCRAPED_WITHIN, || async {
        let series = prometheus
            .query("sum by (job) (toygres_instances{state=\"running\"})")
            .await?;
        (series.len() == 2).then_some(series)
    })
    .await;
    for (labels, value) in running {
        assert_eq!(value, 1.0, "{labels}: {}", prometheus.log());
    }
    let up = prometheus.query("min(up)").await.expect("a query answer");
    assert_eq!(up[0].1, 1.0, "every target is up");
}
