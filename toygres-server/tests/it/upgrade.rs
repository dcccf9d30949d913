//! An instance made by the release before owner roles, TLS and OS accounts per instance
//! keeps working after the upgrade: it is watched, its connection string (the superuser's,
//! as before, without TLS) works; one restart gives it TLS; turning superuser access off
//! gives it an owner role of its own.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use toygres_domain::HealthStatus;
use toygres_domain::api::InstanceView;
use toygres_test_support::database::free_port;
use toygres_test_support::server::{ServerOptions, TestServer};
use toygres_test_support::{TestDatabase, eventually, legacy};

async fn get(server: &TestServer) -> InstanceView {
    serde_json::from_str(&server.cli_ok(&["get", "elder", "-o", "json"]).await).unwrap()
}

/// Who the printed connection string logs in as, and whether over TLS.
async fn login(server: &TestServer, extra: &[&str]) -> (String, String, bool) {
    let mut args = vec!["connection-string", "elder"];
    args.extend_from_slice(extra);
    let url = server.cli_ok(&args).await.trim().to_string();
    let mut connection = PgConnection::connect(&url)
        .await
        .expect("the string logs in");
    let found: (String, String, bool) = sqlx::query_as(
        "SELECT current_user::text, current_database()::text, \
         (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_made_before_owner_roles_keeps_working_and_can_be_locked_down() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    let port = free_port();
    legacy::make(&server.options.data_dir.join("instances"), "elder", port).await;
    // Its record as the earlier release left it and this release's migration kept it:
    // running, the superuser's endpoint, superuser access on.
    let db = TestDatabase::connect(&server.database_url().await).await;
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO toygres_cms.instances
             (id, name, state, platform, postgres_version, storage_gb, endpoint_host,
              endpoint_port, endpoint_user, endpoint_database, create_orchestration_id,
              actor_orchestration_id, superuser_access, created_at, updated_at)
         VALUES ($1, 'elder', 'running', 'local', '15', 10, '127.0.0.1', $2, 'postgres',
                 'postgres', 'create-elder-by-the-earlier-release', $3, true,
                 now() - interval '1 hour', now() - interval '1 hour')",
    )
    .bind(id)
    .bind(i32::from(port))
    .bind(toygres_orchestrations::names::instance_ids::instance_actor(
        id,
    ))
    .execute(&db.pool)
    .await
    .unwrap();

    // Reconciliation gives it a health actor, which logs in as before.
    eventually("elder to be healthy", Duration::from_secs(60), || async {
        (get(&server).await.health.status == HealthStatus::Healthy).then_some(())
    })
    .await;
    let elder = get(&server).await;
    assert!(elder.superuser_access);
    assert_eq!(elder.owner.as_deref(), Some("postgres"));
    assert_eq!(
        login(&server, &[]).await,
        ("postgres".into(), "postgres".into(), false),
        "the earlier release's login, until a restart gives it TLS"
    );

    server.cli_ok(&["restart", "elder", "--wait"]).await;
    assert_eq!(
        login(&server, &[]).await,
        ("postgres".into(), "postgres".into(), true)
    );

    server
        .cli_ok(&["superuser-access", "elder", "off", "--wait"])
        .await;
    let elder = get(&server).await;
    assert!(!elder.superuser_access);
    assert_eq!(elder.owner.as_deref(), Some("app"));
    assert_eq!(
        login(&server, &[]).await,
        ("app".into(), "app".into(), true)
    );
    let superuser = server
        .cli(&["connection-string", "elder", "--superuser"])
        .await;
    assert_eq!(superuser.status.code(), Some(1));
}
