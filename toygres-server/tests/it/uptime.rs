//! Months of uptime: a server outlives its database's absences and its operators' timing.
//! It waits for a database that is not up yet, answers 503 quickly while the database
//! does not answer, honours a stop that comes while it is still starting, and keeps
//! instance ports out of the kernel's ephemeral range.

use std::time::{Duration, Instant};

use chrono::Utc;
use toygres_domain::{ErrorCode, HealthStatus, InstanceState, OperationStatus};

use toygres_domain::api::{ErrorBody, InstanceView};
use toygres_test_support::eventually;
use toygres_test_support::private_cluster::PrivateCluster;
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::server::{ServerOptions, TestServer};

const TOKEN: &str = "uptime-test-token-0123456789";
/// How soon a waiting client hears of a change: well under the second after which the
/// handler looks again without being told.
const CHANGE_TO_ANSWER: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_before_its_database_serves_once_the_database_is_up() {
    let cluster = PrivateCluster::create().await;
    let mut server = TestServer::spawn(ServerOptions::external(&cluster.url(), TOKEN));
    eventually(
        "the server to say it waits for its database",
        Duration::from_secs(30),
        || async {
            server
                .log()
                .contains("waiting for the database")
                .then_some(())
        },
    )
    .await;
    cluster.start().await;
    server.wait_until_serving().await;
    server.read_token();
    server.cli_ok(&["list"]).await;
    assert!(server.log().contains("the database answers; starting"));
    server.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_during_a_database_outage_answers_503_within_five_seconds() {
    let cluster = PrivateCluster::started().await;
    let server = TestServer::start(ServerOptions::external(&cluster.url(), TOKEN)).await;
    let http = reqwest::Client::new();
    let list = format!("{}/api/v1/instances", server.url);
    let ok = http.get(&list).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(ok.status(), 200);

    cluster.freeze();
    let asked = Instant::now();
    let response = http.get(&list).bearer_auth(TOKEN).send().await.unwrap();
    let took = asked.elapsed();
    let status = response.status();
    let body: ErrorBody = response.json().await.unwrap();
    cluster.thaw();
    assert_eq!(status, 503, "{body:?}");
    assert_eq!(body.error, ErrorCode::Unavailable);
    assert!(took < Duration::from_secs(5), "answered after {took:?}");

    eventually(
        "the API to answer again",
        Duration::from_secs(30),
        || async {
            let response = http.get(&list).bearer_auth(TOKEN).send().await.ok()?;
            (response.status() == 200).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_one_second_after_start_stops_the_server_and_its_embedded_database() {
    let mut server = TestServer::spawn(ServerOptions::embedded());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = server.terminate().await;
    assert!(status.success(), "clean exit: {status}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(!log.contains("serving on"), "it never served: {log}");
    let embedded = server.options.data_dir.join("control-plane/cms/data");
    assert!(
        postmasters_for(&embedded).is_empty(),
        "no embedded postmaster is left behind: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_ports_come_from_the_configured_range_outside_ephemeral_ports() {
    let mut options = ServerOptions::embedded();
    options.extra_args = vec!["--instance-ports".into(), "24100-24199".into()];
    let server = TestServer::start(options).await;
    server.cli_ok(&["create", "ported", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "ported", "-o", "json"]).await).unwrap();
    let port = view.endpoint.expect("an endpoint").port;
    assert!((24100..=24199).contains(&port), "port {port}");
    server.cli_ok(&["delete", "ported", "--wait"]).await;

    // A range the kernel also hands to outgoing connections is refused at start.
    let mut overlapping = ServerOptions::embedded();
    overlapping.extra_args = vec!["--instance-ports".into(), "40000-40099".into()];
    let mut refused = TestServer::spawn(overlapping);
    let status = eventually(
        "the server to refuse to start",
        Duration::from_secs(60),
        || {
            let exited = refused.try_exit();
            async move { exited }
        },
    )
    .await;
    assert!(!status.success());
    assert!(
        refused
            .log()
            .contains("overlaps the kernel's ephemeral port range"),
        "{}",
        refused.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_client_learns_of_a_change_as_it_happens() {
    // Hourly checks: after the first one, only the test changes the instance.
    let mut options = ServerOptions::embedded();
    options.health_check_interval_secs = 3600;
    let server = TestServer::start(options).await;
    server.cli_ok(&["create", "followed", "--wait"]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/instances/followed", server.url);
    let etag = eventually("the create to settle", Duration::from_secs(30), || async {
        let response = http
            .get(&url)
            .bearer_auth(&server.token)
            .send()
            .await
            .ok()?;
        let etag = response.headers()["etag"].to_str().ok()?.to_string();
        let view: InstanceView = response.json().await.ok()?;
        let settled = view.health.status == HealthStatus::Healthy
            && view.create_orchestration.status == Some(OperationStatus::Completed);
        settled.then_some(etag)
    })
    .await;

    // Nothing changes: the long-poll ends with 304 when its wait is over.
    let unchanged = http
        .get(format!("{url}?wait_secs=1"))
        .bearer_auth(&server.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    // A delete while a client waits: the answer comes with the change. The handler looks
    // again whenever the store is written to (the change's step finishing is such a
    // write), and otherwise only a second after its last look.
    let waiting = {
        let (http, url, token) = (http.clone(), url.clone(), server.token.clone());
        tokio::spawn(async move {
            let response = http
                .get(format!("{url}?wait_secs=50"))
                .bearer_auth(token)
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap();
            let answered_at = Utc::now();
            (
                response.status(),
                answered_at,
                response.json::<InstanceView>().await,
            )
        })
    };
    // This pause only gives the test its edge: the handler's first look is over before
    // the change, so one that looked again only every second would answer about a second
    // after the request, most of a second after the change (or show a later state).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let deleted = http
        .delete(&url)
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    let (status, answered_at, view) = waiting.await.unwrap();
    assert_eq!(status, 200);
    let view = view.unwrap();
    // The delete's first change, so `updated_at` is the moment the wait should have ended
    // (a later state would mean the answer missed it).
    assert_eq!(view.state, InstanceState::Deleting, "the first change");
    let latency = (answered_at - view.updated_at)
        .to_std()
        .expect("the answer comes after the change");
    assert!(
        latency < CHANGE_TO_ANSWER,
        "answered {latency:?} after the change"
    );
}
