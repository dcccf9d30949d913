//! Stop, start and restart on the local platform, with real servers: a stopped instance
//! keeps its data, port and password and is not probed; started, it serves the same data
//! and is watched again; restarted, it has a new server process and the same data; a
//! node killed in the middle of a stop or a start finishes it after the restart.

use std::time::Duration;

use duroxide::OrchestrationStatus;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use toygres_cms as cms;
use toygres_domain::InstanceState;
use toygres_orchestrations::names::instance_ids::RecordOperation;
use toygres_orchestrations::names::{activities, instance_ids, orchestrations};
use toygres_orchestrations::types::OperationOutput;
use toygres_platform::Whose;
use toygres_platform::{Login, Platform};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{
    completed_output, in_flight, scheduled, spec, transitions,
};
use toygres_test_support::eventually;
use toygres_test_support::processes::{port_is_listening, postmasters_for};
use uuid::Uuid;

async fn health_rows(cp: &TestControlPlane, record: Uuid) -> usize {
    cms::health::history(&cp.db.pool, record, 10_000)
        .await
        .unwrap()
        .len()
}

async fn rows(options: &PgConnectOptions) -> Vec<i32> {
    let mut connection = PgConnection::connect_with(options).await.unwrap();
    let rows: Vec<i32> = sqlx::query_scalar("SELECT id FROM orders ORDER BY id")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_start_and_restart_keep_the_data_and_the_watch_follows() {
    let cp = TestControlPlane::start().await;
    let spec = spec("dayto");
    let mut input = cp.reserve("create-dayto", &spec).await;
    input.health_check_interval_secs = 1;
    let record = input.record_id;
    cp.start_create("create-dayto", input).await;
    cp.wait("create-dayto", Duration::from_secs(60)).await;
    let endpoint = cp.platform.endpoint(&spec.name).await.unwrap();
    let credentials = cp
        .platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();
    let options = PgConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(&credentials.user)
        .password(credentials.password())
        .database(&endpoint.database);
    let mut connection = PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2), (3)")
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    eventually("a first health check", Duration::from_secs(10), || async {
        (health_rows(&cp, record).await > 0).then_some(())
    })
    .await;
    let data_dir = cp.platform.instance_dir(&spec.name).join("data");

    // Stop: no process, no port, no probes; the data stays.
    let stop = cp
        .start_operation(
            RecordOperation::Stop,
            orchestrations::STOP_INSTANCE,
            InstanceState::Stopping,
            record,
            &spec.name,
        )
        .await;
    let stopped: OperationOutput = completed_output(&cp.wait(&stop, Duration::from_secs(60)).await);
    assert_eq!(stopped.state, InstanceState::Stopped);
    let stopped_record = cms::instances::get(&cp.db.pool, record)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped_record.state, InstanceState::Stopped);
    assert!(postmasters_for(&data_dir).is_empty(), "no server process");
    assert!(
        !port_is_listening(endpoint.port),
        "the port refuses connections"
    );
    assert!(data_dir.join("PG_VERSION").exists(), "the data stays");
    let while_stopped = health_rows(&cp, record).await;
    // The actor is the only prober: once it has ended, nothing probes until a start
    // watches again, so the count read after that is final. Had the stop not told it to
    // stop watching, it would end only after a probe of the stopped server found the
    // record stopped, and that probe's row would be counted.
    let watch_ended = cp
        .wait(
            &instance_ids::instance_actor(record),
            Duration::from_secs(30),
        )
        .await;
    assert!(
        matches!(watch_ended, OrchestrationStatus::Completed { .. }),
        "{watch_ended:?}"
    );
    assert_eq!(
        health_rows(&cp, record).await,
        while_stopped,
        "no health rows while stopped"
    );

    // Start: the same data, port and password; probes resume.
    let start = cp
        .start_operation(
            RecordOperation::Start,
            orchestrations::START_INSTANCE,
            InstanceState::Starting,
            record,
            &spec.name,
        )
        .await;
    let started: OperationOutput =
        completed_output(&cp.wait(&start, Duration::from_secs(60)).await);
    assert_eq!(started.state, InstanceState::Running);
    assert_eq!(
        rows(&options).await,
        [1, 2, 3],
        "the old password, the old rows"
    );
    eventually("health checks resumed", Duration::from_secs(15), || async {
        (health_rows(&cp, record).await >= while_stopped + 2).then_some(())
    })
    .await;

    // Restart: a new postmaster on the same data.
    let before = postmasters_for(&data_dir);
    assert_eq!(before.len(), 1);
    let restart = cp
        .start_operation(
            RecordOperation::Restart,
            orchestrations::RESTART_INSTANCE,
            InstanceState::Restarting,
            record,
            &spec.name,
        )
        .await;
    let restarted: OperationOutput =
        completed_output(&cp.wait(&restart, Duration::from_secs(60)).await);
    assert_eq!(restarted.state, InstanceState::Running);
    let after = postmasters_for(&data_dir);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "a new server process");
    assert_eq!(rows(&options).await, [1, 2, 3]);
    let after_restart = health_rows(&cp, record).await;
    eventually(
        "health checks after the restart",
        Duration::from_secs(15),
        || async { (health_rows(&cp, record).await >= after_restart + 2).then_some(()) },
    )
    .await;

    assert_eq!(
        transitions(&cp.db.pool, record).await,
        [
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Stopping,
            InstanceState::Stopped,
            InstanceState::Starting,
            InstanceState::Running,
            InstanceState::Restarting,
            InstanceState::Running,
        ]
    );
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

/// A node killed while a stop, then a start, is at the platform: each finishes after the
/// restart, with one transition per state and never two servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_during_a_stop_and_a_start_finishes_both() {
    let mut cp = TestControlPlane::start().await;
    let spec = spec("sturdyop");
    let mut input = cp.reserve("create-sturdyop", &spec).await;
    input.health_check_interval_secs = 3600;
    let record = input.record_id;
    cp.start_create("create-sturdyop", input).await;
    cp.wait("create-sturdyop", Duration::from_secs(60)).await;
    let data_dir = cp.platform.instance_dir(&spec.name).join("data");

    for (kind, orchestration, state, ends) in [
        (
            RecordOperation::Stop,
            orchestrations::STOP_INSTANCE,
            InstanceState::Stopping,
            InstanceState::Stopped,
        ),
        (
            RecordOperation::Start,
            orchestrations::START_INSTANCE,
            InstanceState::Starting,
            InstanceState::Running,
        ),
    ] {
        let id = cp
            .start_operation(kind, orchestration, state, record, &spec.name)
            .await;
        cp.wait_for_history(&id, |h| {
            in_flight(h, activities::OPERATE_INSTANCE) || scheduled(h, activities::CMS_TRANSITION)
        })
        .await;
        cp.crash();
        cp.restart().await;
        let done: OperationOutput = completed_output(&cp.wait(&id, Duration::from_secs(120)).await);
        assert_eq!(done.state, ends, "{kind}");
        let expected_servers = usize::from(ends == InstanceState::Running);
        assert_eq!(postmasters_for(&data_dir).len(), expected_servers, "{kind}");
    }
    use InstanceState::*;
    assert_eq!(
        transitions(&cp.db.pool, record).await,
        [Creating, Running, Stopping, Stopped, Starting, Running]
    );
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}
