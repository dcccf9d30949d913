//! The whole life of an instance on the local platform, against real PostgreSQL:
//! create → connect with its credentials → health history → delete → nothing left.

use std::time::Duration;
use toygres_domain::HealthStatus;
use toygres_test_support::eventually;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::DUROXIDE_SCHEMA;
use toygres_orchestrations::types::v1_1::CreateInstanceOutput;
use toygres_orchestrations::types::{DeleteInstanceOutput, InstanceActorOutput};
use toygres_platform::{Login, Platform};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, spec, transitions};
use toygres_test_support::processes::{port_is_listening, postmasters_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_created_watched_and_deleted() {
    let cp = TestControlPlane::start().await;
    let spec = spec("shop");
    let mut input = cp.reserve("create-shop", &spec).await;
    input.health_check_interval_secs = 1;
    cp.start_create("create-shop", input).await;
    let created: CreateInstanceOutput =
        completed_output(&cp.wait("create-shop", Duration::from_secs(120)).await);
    assert_eq!(created.name, spec.name);

    // A user connects with the credentials the platform hands out, and uses the database.
    let credentials = cp
        .platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();
    let options = PgConnectOptions::new()
        .host(&created.endpoint.host)
        .port(created.endpoint.port)
        .username(&credentials.user)
        .password(credentials.password())
        .database(&created.endpoint.database);
    let mut conn = PgConnection::connect_with(&options)
        .await
        .expect("log in with the password");
    sqlx::query("CREATE TABLE orders (id int primary key)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO orders VALUES (1), (2)")
        .execute(&mut conn)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 2);
    conn.close().await.unwrap();
    let wrong = options.clone().password("not-the-password");
    assert!(
        PgConnection::connect_with(&wrong).await.is_err(),
        "password auth is enforced"
    );

    // The actor keeps probing and recording.
    let health = wait_for_health_rows(&cp, created.record_id, 2).await;
    assert!(health.iter().all(|h| h.ok), "{health:?}");
    let record = cms::instances::get(&cp.db.pool, created.record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Running);
    assert_eq!(record.health_status, HealthStatus::Healthy);
    assert_eq!(record.endpoint_port, Some(i32::from(created.endpoint.port)));

    let data_dir = cp.platform.instance_dir(&spec.name).join("data");
    assert_eq!(
        postmasters_for(&data_dir).len(),
        1,
        "one server runs the instance"
    );
    let password = credentials.password().to_string();

    cp.start_delete("delete-shop", created.record_id, &spec.name)
        .await;
    let deleted: DeleteInstanceOutput =
        completed_output(&cp.wait("delete-shop", Duration::from_secs(60)).await);
    assert!(deleted.resources_deleted);

    let actor_end: InstanceActorOutput = completed_output(
        &cp.wait(&created.actor_orchestration_id, Duration::from_secs(30))
            .await,
    );
    assert!(
        matches!(
            actor_end,
            InstanceActorOutput::DeletedSignal { .. } | InstanceActorOutput::NoLongerRunning { .. }
        ),
        "{actor_end:?}"
    );
    assert!(
        !port_is_listening(created.endpoint.port),
        "the server is gone"
    );
    assert!(postmasters_for(&data_dir).is_empty());
    assert!(
        !cp.platform.instance_dir(&spec.name).exists(),
        "the data directory is removed"
    );

    let record = cms::instances::get(&cp.db.pool, created.record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Deleted);
    assert!(record.deleted_at.is_some());
    let events: Vec<InstanceState> = transitions(&cp.db.pool, created.record_id).await;
    assert_eq!(
        events,
        [
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Deleting,
            InstanceState::Deleted
        ]
    );

    // The password never reached duroxide's history or the CMS.
    assert_eq!(
        cp.db.tables_containing(DUROXIDE_SCHEMA, &password).await,
        Vec::<String>::new()
    );
    assert_eq!(
        cp.db.tables_containing("toygres_cms", &password).await,
        Vec::<String>::new()
    );
    // ...while the search itself does find what is there.
    assert!(
        !cp.db
            .tables_containing(DUROXIDE_SCHEMA, spec.name.as_str())
            .await
            .is_empty()
    );
    cp.shutdown().await;
}

async fn wait_for_health_rows(
    cp: &TestControlPlane,
    instance_id: uuid::Uuid,
    at_least: usize,
) -> Vec<cms::health::HealthCheck> {
    eventually("health rows", Duration::from_secs(30), || async {
        let rows = cms::health::history(&cp.db.pool, instance_id, 100)
            .await
            .unwrap();
        (rows.len() >= at_least).then_some(rows)
    })
    .await
}
