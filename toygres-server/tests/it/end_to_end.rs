//! The README's session, with the real server (embedded database) and the real CLI:
//! create --wait, list, get, a real connection with the printed connection string,
//! delete --wait; then no secret anywhere it must not be.

use std::time::Duration;
use toygres_domain::{HealthStatus, InstanceState, OperationStatus};
use toygres_test_support::eventually;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use toygres_domain::api::{InstanceList, InstanceView};
use toygres_orchestrations::DUROXIDE_SCHEMA;
use toygres_test_support::TestDatabase;
use toygres_test_support::processes::{port_is_listening, postmasters_for};
use toygres_test_support::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_session_works_end_to_end() {
    let server = TestServer::start(ServerOptions::embedded()).await;

    let created = server.cli_ok(&["create", "shop", "--wait"]).await;
    assert!(
        created.contains("shop is running at 127.0.0.1:"),
        "{created}"
    );

    let table = server.cli_ok(&["list"]).await;
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("NAME") && header.contains("STATE") && header.contains("ENDPOINT"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("shop ") && l.contains("running")),
        "{table}"
    );

    let list: InstanceList =
        serde_json::from_str(&server.cli_ok(&["list", "-o", "json"]).await).unwrap();
    assert_eq!(list.instances.len(), 1);
    assert_eq!(list.instances[0].state, InstanceState::Running);

    let instance = wait_until_healthy(&server, "shop").await;
    assert_eq!(
        instance.create_orchestration.status,
        Some(OperationStatus::Completed)
    );
    let port = instance.endpoint.as_ref().expect("an endpoint").port;

    // What `psql "$(toygres-cli connection-string shop)"` does.
    let connection_string = server
        .cli_ok(&["connection-string", "shop"])
        .await
        .trim()
        .to_string();
    let mut conn = PgConnection::connect(&connection_string)
        .await
        .expect("connect with the printed string");
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    conn.close().await.unwrap();
    let password = server.instance_password("shop").await;
    assert!(connection_string.contains(&password));

    let outputs = [
        server.cli_ok(&["list"]).await,
        server.cli_ok(&["list", "-o", "json"]).await,
        server.cli_ok(&["get", "shop"]).await,
        server.cli_ok(&["get", "shop", "-o", "json"]).await,
    ];

    let deleted = server.cli_ok(&["delete", "shop", "--wait"]).await;
    assert!(deleted.contains("shop is deleted"), "{deleted}");
    let gone: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "shop", "-o", "json"]).await).unwrap();
    assert_eq!(gone.state, InstanceState::Deleted);
    assert!(!port_is_listening(port));
    assert!(postmasters_for(&server.instance_data_dir("shop")).is_empty());
    let empty: InstanceList =
        serde_json::from_str(&server.cli_ok(&["list", "-o", "json"]).await).unwrap();
    assert!(empty.instances.is_empty());

    // Secrets: neither the instance password nor the API token in outputs, logs or history.
    for output in &outputs {
        assert!(
            !output.contains(&password) && !output.contains(&server.token),
            "{output}"
        );
    }
    let log = server.log();
    assert!(
        log.contains("instance=shop"),
        "the log talks about the instance"
    );
    assert!(
        !log.contains(&password),
        "the server log holds the instance password"
    );
    assert!(
        !log.contains(&server.token),
        "the server log holds the API token"
    );
    let db = TestDatabase::connect(&server.database_url().await).await;
    for secret in [&password, &server.token] {
        assert_eq!(
            db.tables_containing(DUROXIDE_SCHEMA, secret).await,
            Vec::<String>::new()
        );
        assert_eq!(
            db.tables_containing("toygres_cms", secret).await,
            Vec::<String>::new()
        );
    }
}

async fn wait_until_healthy(server: &TestServer, name: &str) -> InstanceView {
    eventually("a healthy instance", Duration::from_secs(20), || async {
        let view: InstanceView =
            serde_json::from_str(&server.cli_ok(&["get", name, "-o", "json"]).await).unwrap();
        (view.health.status == HealthStatus::Healthy).then_some(view)
    })
    .await
}
