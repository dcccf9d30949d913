//! Superuser access as an operation: turned on, the tenant logs in as the superuser;
//! turned off, the login is refused and everything a superuser could have left behind is
//! taken back: other superusers, the server-access roles, `ALTER SYSTEM` settings, and
//! processes it started under the instance's account. Only where the server is root (an
//! OS account per instance); elsewhere the request is refused (see `tenants`).

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use toygres_domain::InstanceState;
use toygres_domain::api::InstanceView;
use toygres_platform::local::os_user;
use toygres_test_support::server::{ServerOptions, TestServer};

async fn get(server: &TestServer, name: &str) -> InstanceView {
    serde_json::from_str(&server.cli_ok(&["get", name, "-o", "json"]).await).unwrap()
}

async fn execute(url: &str, statements: &[&str]) {
    let mut connection = PgConnection::connect(url).await.unwrap();
    for statement in statements {
        sqlx::raw_sql(statement)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    connection.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superuser_access_is_turned_on_and_taken_back_whole() {
    if !os_user::running_as_root() {
        toygres_test_support::skip_or_fail_in_ci("superuser access needs a root server");
        return;
    }
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "vault", "--wait"]).await;
    let refused = server.cli(&["superuser-access", "vault", "off"]).await;
    assert_eq!(refused.status.code(), Some(1), "already off: 409");

    let on = server
        .cli_ok(&["superuser-access", "vault", "on", "--wait"])
        .await;
    assert!(on.contains("vault is running"), "{on}");
    let instance = get(&server, "vault").await;
    assert!(instance.superuser_access);
    assert_eq!(instance.state, InstanceState::Running);
    let superuser = server
        .cli_ok(&["connection-string", "vault", "--superuser"])
        .await
        .trim()
        .to_string();
    execute(
        &superuser,
        &[
            "CREATE ROLE backdoor LOGIN SUPERUSER PASSWORD 'known'",
            "GRANT pg_execute_server_program TO app",
            "ALTER ROLE app CREATEROLE",
            "ALTER SYSTEM SET work_mem = '77MB'",
            "SELECT pg_reload_conf()",
            "COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; nohup sleep 600 >/dev/null 2>&1 &'",
        ],
    )
    .await;
    let account_uid = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(server.instance_data_dir("vault")).unwrap(),
    );
    assert!(
        os_user::processes_of(account_uid).len() > 1,
        "the server and the tenant's sleep run as the instance's account"
    );

    let off = server
        .cli_ok(&["superuser-access", "vault", "off", "--wait"])
        .await;
    assert!(off.contains("vault is running"), "{off}");
    let instance = get(&server, "vault").await;
    assert!(!instance.superuser_access);
    assert!(
        PgConnection::connect(&superuser).await.is_err(),
        "the superuser's login is refused"
    );
    let asked = server
        .cli(&["connection-string", "vault", "--superuser"])
        .await;
    assert_eq!(asked.status.code(), Some(1));

    let owner = server
        .cli_ok(&["connection-string", "vault"])
        .await
        .trim()
        .to_string();
    let mut connection = PgConnection::connect(&owner).await.unwrap();
    let superusers: Vec<String> =
        sqlx::query_scalar("SELECT rolname FROM pg_roles WHERE rolsuper OR rolcreaterole")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    assert_eq!(superusers, ["postgres"]);
    let server_roles: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid \
         WHERE g.rolname LIKE 'pg_%server%'",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(server_roles, 0);
    let work_mem: String = sqlx::query_scalar("SHOW work_mem")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_ne!(work_mem, "77MB", "ALTER SYSTEM settings are gone");
    connection.close().await.unwrap();
    let left: Vec<String> = os_user::processes_of(account_uid)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok())
        .filter(|cmdline| cmdline.starts_with("sleep"))
        .collect();
    assert!(left.is_empty(), "the tenant's processes are gone: {left:?}");

    let operations = server
        .cli_ok(&[
            "operations",
            "list",
            "--instance",
            "vault",
            "--kind",
            "superuser_access",
        ])
        .await;
    assert_eq!(
        operations
            .lines()
            .filter(|l| l.contains("completed"))
            .count(),
        2,
        "{operations}"
    );
}
