//! PostgreSQL parameters as an operation, through the real server and CLI: a reloadable
//! one takes effect without a restart, one that needs a restart gets exactly that (rolling,
//! on every member), a reset goes back to the default, a restore gets its source's, bad
//! values and the control plane's own parameters are refused and change nothing, a library
//! the operator allows can be preloaded (others cannot), a value the server cannot start
//! with is put back, and a server killed during a change finishes
//! it once.

use std::time::Duration;

use toygres_domain::api::ConfigView;
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::psql::psql;
use toygres_test_support::server::{ServerOptions, TestServer};

/// `sql`'s one value, by `psql` on a fresh connection of `name`'s owner (read-write, or a
/// standby's with `read_only`).
async fn query(server: &TestServer, name: &str, read_only: bool, sql: &str) -> String {
    let mut args = vec!["connection-string", name];
    if read_only {
        args.push("--read-only");
    }
    let url = server.cli_ok(&args).await.trim().to_string();
    psql(&url, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn show(server: &TestServer, name: &str, parameter: &str) -> String {
    query(server, name, false, &format!("SHOW {parameter}")).await
}

async fn started_at(server: &TestServer, name: &str) -> String {
    query(
        server,
        name,
        false,
        "SELECT pg_postmaster_start_time()::text",
    )
    .await
}

async fn config(server: &TestServer, name: &str) -> ConfigView {
    serde_json::from_str(&server.cli_ok(&["-o", "json", "config", "show", name]).await).unwrap()
}

/// The line of `get`'s member table that says which member is the primary.
async fn primary_member(server: &TestServer, name: &str) -> String {
    let shown = server.cli_ok(&["get", name]).await;
    shown
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some("primary"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("no primary in: {shown}"))
        .to_string()
}

/// The completed configure operations of `name`.
async fn completed_changes(server: &TestServer, name: &str) -> usize {
    let operations = server
        .cli_ok(&[
            "operations",
            "list",
            "--instance",
            name,
            "--kind",
            "configure",
        ])
        .await;
    operations
        .lines()
        .filter(|l| l.contains("completed"))
        .count()
}

/// The CLI's one-line error for `args`, which must be refused as bad input (exit 2).
async fn refused(server: &TestServer, args: &[&str]) -> String {
    let output = server.cli(args).await;
    assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_checked_then_reloaded_or_restarted_as_each_needs() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server
        .cli_ok(&["create", "tuned", "--standbys", "1", "--wait"])
        .await;
    let before = started_at(&server, "tuned").await;

    for (args, said) in [
        (
            ["config", "set", "tuned", "work_mem=abc"],
            "invalid value for parameter \"work_mem\": \"abc\"",
        ),
        (
            ["config", "set", "tuned", "work_mem=1kB"],
            "outside the valid range for parameter \"work_mem\"",
        ),
        (
            ["config", "set", "tuned", "no_such_thing=1"],
            "unrecognized configuration parameter \"no_such_thing\"",
        ),
        (
            ["config", "set", "tuned", "port=6000"],
            "parameter \"port\" is the control plane's to set",
        ),
        (
            ["config", "set", "tuned", "ssl=off"],
            "parameter \"ssl\" is the control plane's to set",
        ),
        (
            ["config", "reset", "tuned", "archive_command"],
            "the control plane's to set",
        ),
        (
            ["config", "set", "tuned", "shared_preload_libraries=evil"],
            "library \"evil\" may not be preloaded: the libraries allowed are \
             pg_stat_statements, auto_explain",
        ),
        (
            [
                "config",
                "set",
                "tuned",
                "shared_preload_libraries=/tmp/x.so",
            ],
            "may not be preloaded",
        ),
    ] {
        let error = refused(&server, &args).await;
        assert!(error.contains(said), "{args:?}: {error}");
        assert_eq!(error.trim().lines().count(), 1, "one line: {error}");
    }
    assert_eq!(completed_changes(&server, "tuned").await, 0);
    assert!(
        config(&server, "tuned")
            .await
            .parameters
            .iter()
            .all(|p| p.desired.is_none())
    );

    let done = server
        .cli_ok(&[
            "config",
            "set",
            "tuned",
            "work_mem=64MB",
            "statement_timeout=5s",
            "--wait",
        ])
        .await;
    assert!(done.contains("tuned is running"), "{done}");
    eventually(
        "work_mem to be reloaded",
        Duration::from_secs(10),
        || async { (show(&server, "tuned", "work_mem").await == "64MB").then_some(()) },
    )
    .await;
    assert_eq!(show(&server, "tuned", "statement_timeout").await, "5s");
    assert_eq!(
        started_at(&server, "tuned").await,
        before,
        "a reload, no restart"
    );
    let view = config(&server, "tuned").await;
    let work_mem = view
        .parameters
        .iter()
        .find(|p| p.name == "work_mem")
        .unwrap();
    assert_eq!(
        (work_mem.desired.as_deref(), work_mem.value.as_str()),
        (Some("64MB"), "65536kB")
    );
    assert!(!work_mem.needs_restart && !work_mem.pending_restart);

    server
        .cli_ok(&["config", "set", "tuned", "max_connections=150", "--wait"])
        .await;
    assert_eq!(show(&server, "tuned", "max_connections").await, "150");
    assert_eq!(
        query(&server, "tuned", true, "SHOW max_connections").await,
        "150",
        "the standby has it too"
    );
    assert_ne!(started_at(&server, "tuned").await, before, "restarted");
    let view = config(&server, "tuned").await;
    assert!(
        view.parameters.iter().all(|p| !p.pending_restart),
        "nothing waits for a restart: {view:?}"
    );
    let connections = view
        .parameters
        .iter()
        .find(|p| p.name == "max_connections")
        .unwrap();
    assert!(connections.needs_restart);
    assert_eq!(show(&server, "tuned", "work_mem").await, "64MB", "kept");

    // Lowered, a parameter a standby needs at least the primary's value of: the primary
    // restarts first (a standby below it would not start), then the standby.
    let primary_before = primary_member(&server, "tuned").await;
    server
        .cli_ok(&["config", "set", "tuned", "max_connections=90", "--wait"])
        .await;
    assert_eq!(show(&server, "tuned", "max_connections").await, "90");
    assert_eq!(
        query(&server, "tuned", true, "SHOW max_connections").await,
        "90",
        "the standby has it too"
    );
    assert_eq!(
        primary_member(&server, "tuned").await,
        primary_before,
        "restarted in place"
    );

    server
        .cli_ok(&["config", "reset", "tuned", "work_mem", "--wait"])
        .await;
    eventually("work_mem to be reset", Duration::from_secs(10), || async {
        (show(&server, "tuned", "work_mem").await == "4MB").then_some(())
    })
    .await;
    let view = config(&server, "tuned").await;
    let asked: Vec<_> = view
        .parameters
        .iter()
        .filter_map(|p| Some((p.name.as_str(), p.desired.as_deref()?)))
        .collect();
    assert_eq!(
        asked,
        [("max_connections", "90"), ("statement_timeout", "5s")]
    );
    assert_eq!(completed_changes(&server, "tuned").await, 4);
    let table = server.cli_ok(&["config", "show", "tuned"]).await;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("max_connections") && l.contains("needed")),
        "{table}"
    );

    server
        .cli_ok(&["backup", "create", "tuned", "--wait"])
        .await;
    server
        .cli_ok(&["create", "tuned-copy", "--from", "tuned", "--wait"])
        .await;
    assert_eq!(
        show(&server, "tuned-copy", "statement_timeout").await,
        "5s",
        "a restore gets its source's parameters"
    );
    assert_eq!(show(&server, "tuned-copy", "max_connections").await, "90");
    let copied = config(&server, "tuned-copy").await;
    assert!(
        copied
            .parameters
            .iter()
            .any(|p| p.name == "statement_timeout" && p.desired.as_deref() == Some("5s")),
        "{copied:?}"
    );
    server.cli_ok(&["delete", "tuned-copy", "--wait"]).await;
    server.cli_ok(&["delete", "tuned", "--wait"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_parameter_change_finishes_it_once() {
    let mut server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "phoenix", "--wait"]).await;
    let before = started_at(&server, "phoenix").await;
    server
        .cli_ok(&["config", "set", "phoenix", "max_connections=120"])
        .await;
    server.kill9().await;

    server.restart().await;
    let done = server
        .cli_ok(&["wait", "phoenix", "--for", "running", "--timeout", "120"])
        .await;
    assert!(done.contains("phoenix is running"), "{done}");
    eventually(
        "the change to complete",
        Duration::from_secs(60),
        || async { (completed_changes(&server, "phoenix").await == 1).then_some(()) },
    )
    .await;
    assert_eq!(show(&server, "phoenix", "max_connections").await, "120");
    assert_ne!(started_at(&server, "phoenix").await, before);
    assert_eq!(
        postmasters_for(&server.instance_data_dir("phoenix")).len(),
        1,
        "exactly one server process for the instance"
    );
    server.cli_ok(&["delete", "phoenix", "--wait"]).await;
}

/// A `shared_buffers` no host here can map (four times its memory), with huge pages it
/// does not have: no server can start with it, whatever the overcommit setting.
fn unstartable_shared_buffers() -> String {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    format!("shared_buffers={}MB", total_kb * 4 / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_the_server_cannot_start_with_is_put_back() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "brittle", "--wait"]).await;
    server
        .cli_ok(&["config", "set", "brittle", "work_mem=8MB", "--wait"])
        .await;
    let before = started_at(&server, "brittle").await;

    let shared_buffers = unstartable_shared_buffers();
    let args = [
        "config",
        "set",
        "brittle",
        "huge_pages=on",
        shared_buffers.as_str(),
        "--wait",
    ];
    let output = server.cli(&args).await;
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        said.contains("did not start with these parameters")
            && said.contains("could not map anonymous shared memory")
            && said.contains("runs again with the ones it had"),
        "{said}"
    );

    // The operation failed, so the record did; the server runs, with what it had, and a
    // start finds it so: nothing of the refused change is left.
    let state = server.cli_ok(&["get", "brittle"]).await;
    assert!(state.contains("failed"), "{state}");
    let done = server.cli_ok(&["start", "brittle", "--wait"]).await;
    assert!(done.contains("brittle is running"), "{done}");
    assert_ne!(started_at(&server, "brittle").await, before, "tried");
    assert_eq!(show(&server, "brittle", "huge_pages").await, "try");
    assert_eq!(show(&server, "brittle", "shared_buffers").await, "128MB");
    assert_eq!(show(&server, "brittle", "work_mem").await, "8MB");
    server
        .cli_ok(&[
            "config",
            "reset",
            "brittle",
            "huge_pages",
            "shared_buffers",
            "--wait",
        ])
        .await;
    assert_eq!(show(&server, "brittle", "work_mem").await, "8MB");

    // An allowed library is preloaded; its own parameters exist from then on.
    server
        .cli_ok(&[
            "config",
            "set",
            "brittle",
            "shared_preload_libraries=auto_explain",
            "--wait",
        ])
        .await;
    let preloaded = config(&server, "brittle").await;
    assert!(
        preloaded
            .parameters
            .iter()
            .any(|p| p.name == "shared_preload_libraries" && p.value == "auto_explain"),
        "{preloaded:?}"
    );
    server
        .cli_ok(&[
            "config",
            "set",
            "brittle",
            "auto_explain.log_min_duration=0",
            "--wait",
        ])
        .await;
    query(&server, "brittle", false, "SELECT 'explained' AS marker").await;
    eventually(
        "the plan in the server log",
        Duration::from_secs(10),
        || async {
            let log = server.cli_ok(&["logs", "brittle", "--tail", "50"]).await;
            log.contains("Query Text: SELECT 'explained' AS marker")
                .then_some(())
        },
    )
    .await;
    server.cli_ok(&["delete", "brittle", "--wait"]).await;
}
