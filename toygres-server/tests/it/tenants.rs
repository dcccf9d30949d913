//! Tenants are hostile: from one instance's connection string, every way out of that
//! instance is tried, with the real server, CLI and PostgreSQL, and each must be refused.
//!
//! `alice` and `bob` are ordinary instances; `carol` has superuser access (where the
//! server is root, so each instance runs under an OS account of its own). Each escape is a
//! case of its own, named in the output; the test fails listing every case that got out.

use std::path::{Path, PathBuf};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use toygres_domain::api::InstanceView;
use toygres_platform::Login;
use toygres_platform::local::os_user;
use toygres_test_support::server::{ServerOptions, TestServer};

/// One attempt to get out, and the error that proves it was refused.
struct Escape {
    name: &'static str,
    sql: String,
    refused_with: &'static str,
}

fn escape(name: &'static str, sql: impl Into<String>, refused_with: &'static str) -> Escape {
    Escape {
        name,
        sql: sql.into(),
        refused_with,
    }
}

/// Runs every escape on a connection of its own; the cases that were not refused as
/// expected, with what happened.
async fn attempt(url: &str, escapes: &[Escape]) -> Vec<String> {
    let mut escaped = Vec::new();
    for escape in escapes {
        let mut connection = PgConnection::connect(url)
            .await
            .expect("the tenant logs in");
        let outcome = match sqlx::raw_sql(&escape.sql).execute(&mut connection).await {
            Ok(_) => Ok(()),
            Err(error) => Err(error
                .as_database_error()
                .map_or_else(|| error.to_string(), |e| e.message().to_string())),
        };
        let refused = outcome
            .as_ref()
            .is_err_and(|message| message.contains(escape.refused_with));
        let verdict = if refused { "refused" } else { "NOT REFUSED" };
        eprintln!("escape {:<42} {verdict}: {outcome:?}", escape.name);
        if !refused {
            escaped.push(format!("{}: {outcome:?}", escape.name));
        }
        let _ = connection.close().await;
    }
    escaped
}

async fn create(server: &TestServer, name: &str, extra: &[&str]) -> InstanceView {
    let mut args = vec!["create", name, "--wait"];
    args.extend_from_slice(extra);
    server.cli_ok(&args).await;
    serde_json::from_str(&server.cli_ok(&["get", name, "-o", "json"]).await).unwrap()
}

async fn connection_string(server: &TestServer, name: &str, login: &[&str]) -> String {
    let mut args = vec!["connection-string", name];
    args.extend_from_slice(login);
    server.cli_ok(&args).await.trim().to_string()
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// What a tenant of any instance may not do: reach files, programs, other roles.
fn ordinary_escapes(data: &Path, neighbour: &str) -> Vec<Escape> {
    let instances = data.join("instances");
    let neighbour_file = quoted(&instances.join(neighbour).join("owner-password"));
    let cms_password = quoted(&data.join("control-plane").join("cms").join("password"));
    let token = quoted(&data.join("api-token"));
    let denied_function = "permission denied for function";
    let not_superuser = "must be superuser";
    vec![
        escape(
            "read a neighbour's password",
            format!("SELECT pg_read_file({neighbour_file})"),
            denied_function,
        ),
        escape(
            "read the control database's password",
            format!("SELECT pg_read_file({cms_password})"),
            denied_function,
        ),
        escape(
            "read the API token",
            format!("SELECT pg_read_file({token})"),
            denied_function,
        ),
        escape(
            "read a file as bytes",
            format!("SELECT pg_read_binary_file({token})"),
            denied_function,
        ),
        escape(
            "list the instances",
            format!("SELECT pg_ls_dir({})", quoted(&instances)),
            denied_function,
        ),
        escape(
            "stat the API token",
            format!("SELECT pg_stat_file({token})"),
            denied_function,
        ),
        escape(
            "COPY TO PROGRAM",
            "COPY (SELECT 1) TO PROGRAM 'id'",
            "pg_execute_server_program",
        ),
        escape(
            "COPY FROM PROGRAM",
            "CREATE TEMP TABLE t (line text); COPY t FROM PROGRAM 'id'",
            "pg_execute_server_program",
        ),
        escape(
            "COPY TO a file",
            "COPY (SELECT 1) TO '/tmp/toygres-escape'",
            "pg_write_server_files",
        ),
        escape(
            "COPY FROM a file",
            format!("CREATE TEMP TABLE t (line text); COPY t FROM {token}"),
            "pg_read_server_files",
        ),
        escape(
            "lo_import a file",
            format!("SELECT lo_import({token})"),
            denied_function,
        ),
        escape(
            "lo_export to a file",
            "SELECT lo_export(lo_create(0), '/tmp/toygres-escape')",
            denied_function,
        ),
        escape(
            "ALTER SYSTEM",
            "ALTER SYSTEM SET archive_command = 'id'",
            "permission denied to set parameter",
        ),
        escape(
            "CREATE EXTENSION file_fdw",
            "CREATE EXTENSION file_fdw",
            "permission denied to create extension",
        ),
        escape(
            "CREATE EXTENSION dblink",
            "CREATE EXTENSION dblink",
            "permission denied to create extension",
        ),
        escape(
            "CREATE EXTENSION adminpack",
            "CREATE EXTENSION adminpack",
            "permission denied to create extension",
        ),
        escape(
            "make itself superuser",
            "ALTER ROLE CURRENT_USER SUPERUSER",
            not_superuser,
        ),
        escape(
            "make a superuser",
            "CREATE ROLE sneaky SUPERUSER",
            "must be superuser to create superusers",
        ),
        escape(
            "SET ROLE postgres",
            "SET ROLE postgres",
            "permission denied to set role",
        ),
        escape(
            "SET SESSION AUTHORIZATION postgres",
            "SET SESSION AUTHORIZATION postgres",
            "permission denied",
        ),
        escape(
            "grant itself pg_read_server_files",
            "GRANT pg_read_server_files TO CURRENT_USER",
            "must have admin option",
        ),
        escape(
            "grant itself pg_write_server_files",
            "GRANT pg_write_server_files TO CURRENT_USER",
            "must have admin option",
        ),
        escape(
            "grant itself pg_execute_server_program",
            "GRANT pg_execute_server_program TO CURRENT_USER",
            "must have admin option",
        ),
        escape(
            "grant itself the monitor role",
            "GRANT toygres_monitor TO CURRENT_USER",
            "must have admin option",
        ),
        escape("load a library", "LOAD 'plpgsql'", "access to library"),
        escape(
            "CREATE TABLESPACE",
            "CREATE TABLESPACE outside LOCATION '/tmp'",
            "permission denied to create tablespace",
        ),
    ]
}

/// What a tenant with superuser access may do to its own instance but never to another's,
/// nor to the control plane's files.
fn superuser_escapes(data: &Path, neighbour: &str, sockets: [&Path; 2]) -> Vec<Escape> {
    let [neighbour_socket, cms_socket] = sockets;
    let instances = data.join("instances");
    let neighbour_dir = instances.join(neighbour);
    let denied = "Permission denied";
    vec![
        escape(
            "read a neighbour's password",
            format!(
                "SELECT pg_read_file({})",
                quoted(&neighbour_dir.join("owner-password"))
            ),
            denied,
        ),
        escape(
            "read a neighbour's data",
            format!(
                "SELECT pg_read_file({})",
                quoted(&neighbour_dir.join("data").join("PG_VERSION"))
            ),
            denied,
        ),
        escape(
            "list a neighbour's data",
            format!("SELECT pg_ls_dir({})", quoted(&neighbour_dir.join("data"))),
            denied,
        ),
        escape(
            "reach a neighbour's socket",
            format!("SELECT pg_ls_dir({})", quoted(neighbour_socket)),
            denied,
        ),
        escape(
            "reach the control database's socket",
            format!("SELECT pg_ls_dir({})", quoted(cms_socket)),
            denied,
        ),
        escape(
            "list the instances",
            format!("SELECT pg_ls_dir({})", quoted(&instances)),
            denied,
        ),
        escape(
            "read the control database's password",
            format!(
                "SELECT pg_read_file({})",
                quoted(&data.join("control-plane").join("cms").join("password"))
            ),
            denied,
        ),
        escape(
            "read the control database's data",
            format!(
                "SELECT pg_ls_dir({})",
                quoted(&data.join("control-plane").join("cms").join("data"))
            ),
            denied,
        ),
        escape(
            "read the API token",
            format!("SELECT pg_read_file({})", quoted(&data.join("api-token"))),
            denied,
        ),
        escape(
            "read the CA's key",
            format!(
                "SELECT pg_read_file({})",
                quoted(&data.join("ca").join("ca.key"))
            ),
            denied,
        ),
        escape(
            "read its own passwords",
            format!(
                "SELECT pg_read_file({})",
                quoted(&instances.join("carol").join("password"))
            ),
            denied,
        ),
        escape(
            "cat the API token as a program",
            format!(
                "COPY (SELECT 1) TO PROGRAM 'cat {}'",
                data.join("api-token").display()
            ),
            "failed",
        ),
        escape(
            "write into the instances",
            format!("COPY (SELECT 1) TO {}", quoted(&instances.join("planted"))),
            denied,
        ),
    ]
}

/// Whether `credentials` of an instance log in at `port` (TLS, password).
async fn logs_in(port: u16, user: &str, password: &str, database: &str) -> Result<(), String> {
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(user)
        .password(password)
        .database(database);
    match PgConnection::connect_with(&options).await {
        Ok(connection) => {
            let _ = connection.close().await;
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_reaches_nothing_outside_its_instance() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    let data: PathBuf = std::fs::canonicalize(&server.options.data_dir).unwrap();
    let alice = create(&server, "alice", &[]).await;
    let bob = create(&server, "bob", &[]).await;
    assert!(!alice.superuser_access && !bob.superuser_access);
    assert_eq!(
        (alice.owner.as_deref(), alice.database.as_deref()),
        (Some("app"), Some("app"))
    );

    // The tenant gets the owner's login, over TLS, and can work in its database.
    let alice_url = connection_string(&server, "alice", &[]).await;
    assert!(
        alice_url.starts_with("postgresql://app:"),
        "{}",
        redact(&alice_url)
    );
    assert!(alice_url.contains("sslmode=verify-full"));
    let mut connection = PgConnection::connect(&alice_url).await.unwrap();
    for statement in [
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.orders (id int)",
        "CREATE EXTENSION pgcrypto",
        "CREATE DATABASE reports",
    ] {
        sqlx::raw_sql(statement)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("the owner may {statement}: {e}"));
    }
    let (superuser, ssl): (bool, bool) = sqlx::query_as(
        "SELECT rolsuper, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) \
         FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert!(!superuser && ssl);
    connection.close().await.unwrap();

    let escaped = attempt(&alice_url, &ordinary_escapes(&data, "bob")).await;
    assert!(escaped.is_empty(), "escapes that got out: {escaped:#?}");

    // Logins elsewhere: alice's password opens neither bob nor the control database, and
    // no superuser logs in over TCP without superuser access (even with its password).
    let alice_owner = server.instance_credentials("alice", Login::Owner).await;
    let bob_port = bob.endpoint.as_ref().unwrap().port;
    let refused = logs_in(bob_port, "app", alice_owner.password(), "app").await;
    assert!(refused.is_err(), "alice's password opened bob");
    let cms_port = embedded_port(&server);
    for user in ["cms", "postgres", "app"] {
        let refused = logs_in(cms_port, user, alice_owner.password(), "cms").await;
        assert!(
            refused.is_err(),
            "alice's password opened the control database as {user}"
        );
    }
    let alice_port = alice.endpoint.as_ref().unwrap().port;
    let superuser = server.instance_credentials("alice", Login::Superuser).await;
    let refused = logs_in(alice_port, "postgres", superuser.password(), "postgres").await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("pg_hba.conf rejects")),
        "{refused:?}"
    );
    let asked = server
        .cli(&["connection-string", "alice", "--superuser"])
        .await;
    assert_eq!(asked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&asked.stderr).contains("has no superuser access"));

    if !os_user::running_as_root() {
        // Every instance shares the server's account: superuser access is refused.
        let refused = server.cli(&["create", "carol", "--superuser-access"]).await;
        assert_eq!(refused.status.code(), Some(2));
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(message.contains("OS accounts of their own"), "{message}");
        toygres_test_support::skip_or_fail_in_ci(
            "its root half (an OS account per instance, a superuser tenant's escapes) \
             needs a root server",
        );
        return;
    }

    // Root: each instance, and the control database, runs under an account of its own.
    let accounts: Vec<u32> = [
        data.join("instances/alice/data"),
        data.join("instances/bob/data"),
        data.join("control-plane/cms/data"),
    ]
    .iter()
    .map(|dir| owner_of(dir))
    .collect();
    assert!(accounts.iter().all(|uid| *uid != 0), "{accounts:?}");
    assert_ne!(accounts[0], accounts[1]);
    assert_ne!(accounts[0], accounts[2]);
    for dir in [
        "instances/alice/data",
        "instances/bob/data",
        "control-plane/cms/data",
    ] {
        assert_eq!(mode_of(&data.join(dir)), 0o700, "{dir}");
    }
    for dir in [".", "instances", "instances/alice", "control-plane"] {
        assert_eq!(
            mode_of(&data.join(dir)) & 0o004,
            0,
            "{dir} is listable by others"
        );
    }

    let carol = create(&server, "carol", &["--superuser-access"]).await;
    assert!(carol.superuser_access);
    let carol_url = connection_string(&server, "carol", &["--superuser"]).await;
    assert!(carol_url.starts_with("postgresql://postgres:"));
    let mut connection = PgConnection::connect(&carol_url).await.unwrap();
    sqlx::raw_sql("CREATE TEMP TABLE me (who text); COPY me FROM PROGRAM 'id -un'")
        .execute(&mut connection)
        .await
        .expect("a superuser runs programs");
    let own: String = sqlx::query_scalar("SELECT who FROM me")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    assert!(
        own.starts_with("toygres-"),
        "as its instance's account: {own}"
    );
    let alice_socket = socket_dir_of(&data.join("instances/alice/data"));
    let cms_socket = socket_dir_of(&data.join("control-plane/cms/data"));
    let escaped = attempt(
        &carol_url,
        &superuser_escapes(&data, "alice", [&alice_socket, &cms_socket]),
    )
    .await;
    assert!(escaped.is_empty(), "escapes that got out: {escaped:#?}");
}

/// The directory of the instance's private socket, as its settings name it.
fn socket_dir_of(data: &Path) -> PathBuf {
    let settings = std::fs::read_to_string(data.join("toygres.conf")).unwrap();
    let line = settings
        .lines()
        .rev()
        .find(|line| line.starts_with("unix_socket_directories"))
        .expect("a socket directory");
    PathBuf::from(line.split('\'').nth(1).expect("quoted"))
}

fn owner_of(path: &Path) -> u32 {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(path).unwrap())
}

fn mode_of(path: &Path) -> u32 {
    std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(path).unwrap()) & 0o777
}

/// The embedded control database's port.
fn embedded_port(server: &TestServer) -> u16 {
    let file = server
        .options
        .data_dir
        .join("control-plane/cms/instance.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    json["port"].as_u64().unwrap() as u16
}

fn redact(url: &str) -> String {
    url.split('@').nth(1).unwrap_or(url).to_string()
}
