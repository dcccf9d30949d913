//! Operators see and steer every operation through the real server and CLI: the list is
//! filtered and paginated without gaps, one operation shows its typed history without a
//! secret, cancel and retry act within their rules (refusals say what to do instead and
//! change nothing), and an instance's events and health checks are there to read.

use std::collections::HashSet;
use std::time::Duration;

use duroxide::OrchestrationStatus;
use toygres_domain::api::{
    HealthHistory, InstanceEvents, InstanceView, OperationDetail, OperationList, OperationSummary,
};
use toygres_domain::{InstanceState, OperationKind, OperationStatus};
use toygres_test_support::control_plane::duroxide_client;
use toygres_test_support::eventually;
use toygres_test_support::server::{ServerOptions, TestServer};

async fn list(server: &TestServer, args: &[&str]) -> OperationList {
    let mut all = vec!["-o", "json", "operations", "list"];
    all.extend_from_slice(args);
    serde_json::from_str(&server.cli_ok(&all).await).unwrap()
}

async fn show(server: &TestServer, id: &str) -> OperationDetail {
    serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "operations", "show", id])
            .await,
    )
    .unwrap()
}

/// The CLI fails with one line on stderr; returns it.
async fn cli_fails(server: &TestServer, args: &[&str]) -> String {
    let output = server.cli(args).await;
    assert!(!output.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    stderr
}

/// Every operation, following the cursor `page` at a time.
async fn every_page(server: &TestServer, page: &str) -> Vec<OperationSummary> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["--limit", page];
        if let Some(cursor) = &cursor {
            args.extend(["--cursor", cursor.as_str()]);
        }
        let list = list(server, &args).await;
        all.extend(list.operations);
        match list.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_and_steer_every_operation() {
    let server = TestServer::start(ServerOptions {
        extra_args: vec!["--warm-pool-size".into(), "0".into()],
        ..ServerOptions::embedded()
    })
    .await;
    for name in ["shop", "cafe", "deli"] {
        server.cli_ok(&["create", name, "--wait"]).await;
    }
    server.cli_ok(&["stop", "cafe", "--wait"]).await;
    server.cli_ok(&["start", "cafe", "--wait"]).await;
    server.cli_ok(&["backup", "create", "shop", "--wait"]).await;
    server
        .cli_ok(&["backup", "schedule", "shop", "--every", "1h", "--keep", "2"])
        .await;
    server.cli_ok(&["delete", "deli", "--wait"]).await;
    let password = server.cli_ok(&["connection-string", "shop"]).await;
    let password = password
        .split(':')
        .nth(2)
        .and_then(|rest| rest.split('@').next())
        .expect("a password in the connection string")
        .to_string();

    // Everything, newest first, the same through pages of 3 as in one page.
    let everything = list(&server, &["--limit", "500"]).await.operations;
    assert!(everything.len() >= 12, "{} operations", everything.len());
    assert!(
        everything
            .windows(2)
            .all(|pair| pair[0].started_at >= pair[1].started_at),
        "newest first"
    );
    let paged = every_page(&server, "3").await;
    let ids = |ops: &[OperationSummary]| ops.iter().map(|op| op.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&paged),
        ids(&everything),
        "no gap, no repeat across pages"
    );
    let kinds: HashSet<OperationKind> = everything.iter().map(|op| op.kind).collect();
    for kind in [
        OperationKind::Create,
        OperationKind::Delete,
        OperationKind::Actor,
        OperationKind::Stop,
        OperationKind::Start,
        OperationKind::Backup,
        OperationKind::BackupSchedule,
        OperationKind::System,
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    // Filters.
    let shop = list(&server, &["--instance", "shop"]).await.operations;
    assert!(!shop.is_empty());
    assert!(
        shop.iter().all(|op| op.instance.as_deref() == Some("shop")),
        "{shop:?}"
    );
    let deli = list(&server, &["--instance", "deli"]).await.operations;
    assert!(
        deli.iter().any(|op| op.kind == OperationKind::Delete),
        "a deleted instance's operations stay listed"
    );
    let backups = list(&server, &["--kind", "backup"]).await.operations;
    assert!(!backups.is_empty() && backups.iter().all(|op| op.kind == OperationKind::Backup));
    let running = list(&server, &["--status", "running"]).await.operations;
    assert!(
        running
            .iter()
            .all(|op| op.status == OperationStatus::Running)
    );
    assert!(running.iter().any(|op| op.kind == OperationKind::Actor));
    assert!(
        list(&server, &["--instance", "nobody"])
            .await
            .operations
            .is_empty()
    );
    cli_fails(&server, &["operations", "list", "--cursor", "soon"]).await;
    // Well-formed, but never given out: the position without the server's tag.
    cli_fails(&server, &["operations", "list", "--cursor", "1.nope"]).await;
    cli_fails(&server, &["operations", "list", "--kind", "teleport"]).await;
    // A reader that stopped reading (`| head`) ends the CLI quietly, not with a panic.
    for args in [
        &["operations", "list"][..],
        &["operations", "list", "-o", "json"],
    ] {
        let output = server.cli_into_a_closed_pipe(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }

    // One create, shown with its typed history and nothing secret.
    let create = shop
        .iter()
        .find(|op| op.kind == OperationKind::Create)
        .expect("shop's create");
    let detail = show(&server, &create.id).await;
    assert_eq!(detail.summary.status, OperationStatus::Completed);
    assert_eq!(detail.input.as_ref().unwrap()["spec"]["name"], "shop");
    assert!(detail.output.as_ref().unwrap()["endpoint"]["port"].is_number());
    let timeline = &detail.executions.last().unwrap().timeline;
    let provisioned = timeline
        .iter()
        .find(|e| {
            e.kind == "activity_completed"
                && e.detail
                    .as_ref()
                    .is_some_and(|d| d["result"]["outcome"] == "ready")
        })
        .expect("the provision step's typed result");
    assert!(timeline.iter().any(|e| e.kind == "activity_scheduled"
        && e.name.as_deref() == Some("provision-instance")
        && Some(e.event_id) == provisioned.completes));
    assert_eq!(timeline.first().unwrap().kind, "orchestration_started");
    assert_eq!(timeline.last().unwrap().kind, "orchestration_completed");
    let text = server.cli_ok(&["operations", "show", &create.id]).await;
    assert!(text.contains("provision-instance"), "{text}");
    for op in &everything {
        let shown = server
            .cli_ok(&["-o", "json", "operations", "show", &op.id])
            .await;
        assert!(!shown.contains(&password), "{} shows the password", op.id);
    }

    // Cancel: refused where it would leave an instance half-made or be undone.
    let schedule = list(&server, &["--kind", "backup_schedule"])
        .await
        .operations[0]
        .id
        .clone();
    let refused = cli_fails(&server, &["operations", "cancel", &schedule]).await;
    assert!(refused.contains("--off"), "{refused}");
    let completed = cli_fails(&server, &["operations", "cancel", &create.id]).await;
    assert!(completed.contains("completed"), "{completed}");
    // Cancelling a health actor: reconciliation replaces it, and says so.
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "shop", "-o", "json"]).await).unwrap();
    let actor = view.actor_orchestration_id.expect("an actor");
    let watching = server.cli_ok(&["operations", "show", &actor]).await;
    assert!(watching.contains("watching its health"), "{watching}");
    let said = server.cli_ok(&["operations", "cancel", &actor]).await;
    assert!(said.contains("reconciliation"), "{said}");
    let client = duroxide_client(&server.database_url().await).await;
    eventually("a new health actor", Duration::from_secs(60), || async {
        let status = client.get_orchestration_status(&actor).await.unwrap();
        matches!(status, OrchestrationStatus::Running { .. }).then_some(())
    })
    .await;

    // Retry: a failed delete runs again under a new id, and the instance ends deleted.
    let failed_delete = server.fail_a_delete("cafe").await;
    let retried = server
        .cli_ok(&["-o", "json", "operations", "retry", &failed_delete])
        .await;
    let retried: toygres_domain::api::OperationAction = serde_json::from_str(&retried).unwrap();
    assert_ne!(retried.id, failed_delete);
    server
        .cli_ok(&["wait", "cafe", "--for", "deleted", "--timeout", "60"])
        .await;
    let retry = show(&server, &retried.id).await;
    assert_eq!(retry.summary.status, OperationStatus::Completed);
    assert_eq!(retry.summary.instance.as_deref(), Some("cafe"));
    let again = cli_fails(&server, &["operations", "retry", &create.id]).await;
    assert!(again.contains("completed"), "{again}");

    // An instance's events and health.
    let events: InstanceEvents =
        serde_json::from_str(&server.cli_ok(&["-o", "json", "events", "cafe"]).await).unwrap();
    let states: Vec<InstanceState> = events.events.iter().map(|e| e.to).collect();
    use InstanceState::*;
    assert_eq!(
        states,
        [
            Creating, Running, Stopping, Stopped, Starting, Running, Deleting, Deleted
        ]
    );
    let health: HealthHistory =
        serde_json::from_str(&server.cli_ok(&["-o", "json", "health", "shop"]).await).unwrap();
    assert!(!health.checks.is_empty());
    assert!(
        health
            .checks
            .iter()
            .all(|c| !c.ok || c.latency_ms.is_some())
    );
    let table = server.cli_ok(&["health", "shop"]).await;
    assert!(
        table.contains("LATENCY") && table.contains(" ms"),
        "{table}"
    );
    server
        .cli_ok(&["backup", "schedule", "shop", "--off"])
        .await;
    server.cli_ok(&["delete", "shop", "--wait"]).await;
}
