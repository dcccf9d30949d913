//! While the server runs, a health actor that dies is replaced by the periodic
//! reconciliation: nobody has to restart anything for the instance to be watched again.
//! Backups and schedules left without their orchestration are recovered the same way.

use std::time::Duration;
use toygres_test_support::eventually;

use duroxide::{Client, EventKind, OrchestrationStatus};
use toygres_cms::{self as cms, backups};
use toygres_domain::api::{BackupView, InstanceView, ScheduleView};
use toygres_domain::{BackupState, HealthStatus, InstanceName, InstanceState};
use toygres_orchestrations::names::{instance_ids, orchestrations};
use toygres_test_support::TestDatabase;
use toygres_test_support::control_plane::{duroxide_client, kill_orchestration, spec};
use toygres_test_support::server::{ServerOptions, TestServer};
use uuid::Uuid;

async fn health_of(server: &TestServer, name: &str) -> HealthStatus {
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", name, "-o", "json"]).await).unwrap();
    view.health.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_actor_is_replaced_while_the_server_runs() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "watched", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "watched", "-o", "json"]).await).unwrap();
    let actor = view.actor_orchestration_id.expect("an actor");
    let client = duroxide_client(&server.database_url().await).await;

    kill_orchestration(&client, &actor).await;

    // The probes are the server's health sweep's, not the actor's: while the actor is
    // dead the health stays fresh (three intervals would make it stale).
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(health_of(&server, "watched").await, HealthStatus::Healthy);
    }

    // Reconciliation acts once the record has been still for a while, then within a tick.
    eventually(
        "the dead actor replaced",
        Duration::from_secs(30),
        || async {
            let status = client.get_orchestration_status(&actor).await.unwrap();
            matches!(status, OrchestrationStatus::Running { .. }).then_some(())
        },
    )
    .await;
    assert!(server.log().contains("restarted the health actor"));
    server.cli_ok(&["delete", "watched", "--wait"]).await;
}

/// A backup whose orchestration never started (the server died between the reservation
/// and the start) is started; a backup schedule whose orchestration died gets a new run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_backup_and_a_dead_schedule_are_resumed_while_the_server_runs() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "kept", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "kept", "-o", "json"]).await).unwrap();
    let url = server.database_url().await;
    let client = duroxide_client(&url).await;
    let db = TestDatabase::connect(&url).await;

    let schedule: ScheduleView = serde_json::from_str(
        &server
            .cli_ok(&[
                "-o", "json", "backup", "schedule", "kept", "--every", "1h", "--keep", "3",
            ])
            .await,
    )
    .unwrap();
    let schedule_id = schedule.orchestration_id.expect("a schedule orchestration");
    kill_orchestration(&client, &schedule_id).await;

    // A reservation the API made before it died, a minute ago.
    let backup_id = Uuid::new_v4();
    let name = InstanceName::parse("kept").unwrap();
    backups::reserve(
        &db.pool,
        backup_id,
        view.id,
        &instance_ids::stanza(&name, view.id),
        &instance_ids::backup(view.id, backup_id),
        false,
    )
    .await
    .unwrap()
    .expect("reserved");
    sqlx::query(
        "UPDATE toygres_cms.backups SET started_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(backup_id)
    .execute(&db.pool)
    .await
    .unwrap();

    eventually("the lost backup taken", Duration::from_secs(60), || async {
        let backup = backups::get(&db.pool, backup_id).await.unwrap().unwrap();
        (backup.state == BackupState::Completed).then_some(())
    })
    .await;
    assert!(
        server
            .log()
            .contains("started the orchestration of a backup left without one")
    );
    // The schedule's row was set when it was turned on: once it has settled, a new run.
    eventually(
        "the schedule running again",
        Duration::from_secs(30),
        || async {
            let status = client.get_orchestration_status(&schedule_id).await.unwrap();
            matches!(status, OrchestrationStatus::Running { .. }).then_some(())
        },
    )
    .await;
    assert!(
        server
            .log()
            .contains("started a new run of a backup schedule")
    );
    server.cli_ok(&["delete", "kept", "--wait"]).await;
}

/// Reserves a record whose create fails at once (an input it cannot read) and, as if the
/// create's last step (marking the record failed) had failed too, leaves it `creating`;
/// dated a minute ago, so reconciliation looks at it on its next pass.
async fn a_record_whose_create_failed(db: &TestDatabase, client: &Client, name: &str) -> Uuid {
    let create_id =
        instance_ids::create_instance(&InstanceName::parse(name).unwrap(), Uuid::new_v4());
    let id = cms::instances::reserve(&db.pool, &spec(name), "local", &create_id)
        .await
        .unwrap();
    client
        .start_orchestration(&create_id, orchestrations::CREATE_INSTANCE, "not an input")
        .await
        .unwrap();
    eventually("the create to fail", Duration::from_secs(30), || async {
        let status = client.get_orchestration_status(&create_id).await.unwrap();
        matches!(status, OrchestrationStatus::Failed { .. }).then_some(())
    })
    .await;
    sqlx::query(
        "UPDATE toygres_cms.instances SET updated_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap();
    id
}

async fn marked_failed(db: &TestDatabase, id: Uuid) -> String {
    eventually(
        "the record marked failed",
        Duration::from_secs(30),
        || async {
            let record = cms::instances::get(&db.pool, id).await.unwrap().unwrap();
            (record.state == InstanceState::Failed).then_some(record.last_error.unwrap_or_default())
        },
    )
    .await
}

/// The pruner's interval in the input its current execution started with.
async fn pruner_interval(client: &Client) -> Option<u64> {
    let info = client
        .get_instance_info(instance_ids::HISTORY_PRUNER)
        .await
        .ok()?;
    let history = client
        .read_execution_history(instance_ids::HISTORY_PRUNER, info.current_execution_id)
        .await
        .ok()?;
    history.iter().find_map(|event| match &event.kind {
        EventKind::OrchestrationStarted { input, .. } => {
            let input: serde_json::Value = serde_json::from_str(input).ok()?;
            input["interval_secs"].as_u64()
        }
        _ => None,
    })
}

/// No record stays in a state whose operation has ended, and recovering records never
/// waits on the system orchestrations: with settings this version cannot read, a create
/// that failed without marking its record is still marked failed. Then the settings a
/// newer server published are the ones every pass keeps (this server's own flags do not
/// take them back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_left_creating_by_a_failed_create_is_marked_failed_whatever_the_system_settings() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    let url = server.database_url().await;
    let client = duroxide_client(&url).await;
    let db = TestDatabase::connect(&url).await;
    let published: serde_json::Value =
        sqlx::query_scalar("SELECT settings FROM toygres_cms.system_settings")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    sqlx::query("UPDATE toygres_cms.system_settings SET settings = '{\"from\": \"the future\"}'")
        .execute(&db.pool)
        .await
        .unwrap();

    let first = a_record_whose_create_failed(&db, &client, "half-made").await;
    let error = marked_failed(&db, first).await;
    assert!(error.starts_with("the create failed"), "{error}");
    assert!(
        server
            .log()
            .contains("reconciliation could not ensure the system orchestrations")
    );

    let mut newer = published.clone();
    newer["pruner"]["interval_secs"] = serde_json::json!(4321);
    sqlx::query("UPDATE toygres_cms.system_settings SET settings = $1")
        .bind(&newer)
        .execute(&db.pool)
        .await
        .unwrap();
    eventually(
        "the pruner running with the newer settings",
        Duration::from_secs(30),
        || async { (pruner_interval(&client).await == Some(4321)).then_some(()) },
    )
    .await;
    let starts = server
        .log()
        .matches("started a system orchestration")
        .count();
    // A later pass (it marks the second record) leaves the pruner as the newer server set it.
    let second = a_record_whose_create_failed(&db, &client, "half-made-too").await;
    marked_failed(&db, second).await;
    assert_eq!(pruner_interval(&client).await, Some(4321));
    assert_eq!(
        server
            .log()
            .matches("started a system orchestration")
            .count(),
        starts
    );
}

/// A backup whose orchestration ended (an operator's cancel that came after pgBackRest had
/// finished, say) while pgBackRest had taken the set: reconciliation records the set,
/// which can then be deleted like any other, instead of marking the backup failed and
/// leaving the set in the repository with no way to remove it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_pgbackrest_finished_for_an_ended_backup_is_recorded_and_deletable() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "late-cancel", "--wait"]).await;
    let taken: BackupView = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "backup", "create", "late-cancel", "--wait"])
            .await,
    )
    .unwrap();
    let url = server.database_url().await;
    let client = duroxide_client(&url).await;
    let db = TestDatabase::connect(&url).await;

    // As the cancel left it: the row still running, the orchestration ended, the set there.
    sqlx::query(
        "UPDATE toygres_cms.backups SET state = 'running', label = NULL, finished_at = NULL,
             started_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(taken.id)
    .execute(&db.pool)
    .await
    .unwrap();
    let orchestration = &taken.orchestration.id;
    client.delete_instance(orchestration, true).await.unwrap();
    client
        .start_orchestration(
            orchestration,
            orchestrations::BACKUP_INSTANCE,
            "not an input",
        )
        .await
        .unwrap();

    // The line is logged just after the row changes: wait for both.
    let recorded = eventually("the set recorded", Duration::from_secs(30), || async {
        let backup = backups::get(&db.pool, taken.id).await.unwrap().unwrap();
        let logged = server
            .log()
            .contains("recorded the set pgBackRest finished");
        (backup.state == BackupState::Completed && logged).then_some(backup)
    })
    .await;
    assert_eq!(recorded.label, taken.label);

    server
        .cli_ok(&["backup", "delete", &taken.id.to_string(), "--wait"])
        .await;
    let deleted = backups::get(&db.pool, taken.id).await.unwrap().unwrap();
    assert_eq!(deleted.state, BackupState::Deleted);
    server.cli_ok(&["delete", "late-cancel", "--wait"]).await;
}

/// Sets in a repository that the records do not account for: one pgBackRest finished for a
/// backup judged failed is recorded; one whose record is gone is removed. The reconciler
/// compares them when it starts (here: after a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_the_records_do_not_account_for_are_recorded_or_removed() {
    let mut server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "swept", "--wait"]).await;
    let mut taken = vec![];
    for _ in 0..2 {
        let backup: BackupView = serde_json::from_str(
            &server
                .cli_ok(&["-o", "json", "backup", "create", "swept", "--wait"])
                .await,
        )
        .unwrap();
        taken.push(backup);
    }
    let (judged_failed, unrecorded) = (&taken[0], &taken[1]);
    let db = TestDatabase::connect(&server.database_url().await).await;
    sqlx::query(
        "UPDATE toygres_cms.backups SET state = 'failed', label = NULL, error = 'judged failed'
         WHERE id = $1",
    )
    .bind(judged_failed.id)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM toygres_cms.backups WHERE id = $1")
        .bind(unrecorded.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let stanza = backups::get(&db.pool, judged_failed.id)
        .await
        .unwrap()
        .unwrap()
        .stanza;
    let set_dir = |label: &str| {
        server
            .options
            .data_dir
            .join("instances/.backups/stanzas")
            .join(&stanza)
            .join("repo/backup")
            .join(&stanza)
            .join(label)
    };
    let unrecorded_set = set_dir(unrecorded.label.as_deref().unwrap());
    assert!(unrecorded_set.exists(), "{}", unrecorded_set.display());

    server.terminate().await;
    server.restart().await;
    eventually("the sets reconciled", Duration::from_secs(60), || async {
        let record = backups::get(&db.pool, judged_failed.id)
            .await
            .unwrap()
            .unwrap();
        (record.state == BackupState::Completed && !unrecorded_set.exists()).then_some(())
    })
    .await;
    let record = backups::get(&db.pool, judged_failed.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.label, judged_failed.label);
    server.cli_ok(&["delete", "swept", "--wait"]).await;
}
