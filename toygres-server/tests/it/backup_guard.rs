//! A stop or restart never takes an instance away from a running backup: the check that no
//! backup runs happens under the record's lock, which a backup's reservation takes too.
//! Here a backup is reserved while the stop waits for that lock: the stop must see it.
//! And a cancelled backup is recorded only once its pgBackRest is gone.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_cms::backups;
use toygres_domain::api::{BackupAccepted, InstanceView};
use toygres_domain::{BackupState, InstanceName};
use toygres_orchestrations::names::instance_ids;
use toygres_test_support::TestDatabase;
use toygres_test_support::database::someone_waits_for_a_lock;
use toygres_test_support::eventually::eventually_every;
use toygres_test_support::processes::pgbackrest_backing_up;
use toygres_test_support::server::{ServerOptions, TestServer};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_reserved_while_a_stop_waits_for_the_record_refuses_the_stop() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "guarded", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "guarded", "-o", "json"]).await).unwrap();
    let db = TestDatabase::connect(&server.database_url().await).await;

    let mut reservation = db.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM toygres_cms.instances WHERE id = $1 FOR UPDATE")
        .bind(view.id)
        .execute(&mut *reservation)
        .await
        .unwrap();
    let backup_id = Uuid::new_v4();
    let reserve_while_the_stop_waits = async {
        someone_waits_for_a_lock(&db.pool).await;
        sqlx::query(
            "INSERT INTO toygres_cms.backups
                 (id, instance_id, instance_name, stanza, state, scheduled, orchestration_id)
             VALUES ($1, $2, 'guarded', 'guarded-stanza', 'running', false, $3)",
        )
        .bind(backup_id)
        .bind(view.id)
        .bind(format!("backup-test-{backup_id}"))
        .execute(&mut *reservation)
        .await
        .unwrap();
        reservation.commit().await.unwrap();
    };
    let (stop, ()) = tokio::join!(
        server.cli(&["stop", "guarded"]),
        reserve_while_the_stop_waits
    );

    let said = String::from_utf8_lossy(&stop.stderr);
    assert!(!stop.status.success(), "the stop was accepted: {said}");
    assert!(said.contains(&format!("backup {backup_id}")), "{said}");
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "guarded", "-o", "json"]).await).unwrap();
    assert_eq!(view.state.to_string(), "running");

    sqlx::query("UPDATE toygres_cms.backups SET state = 'failed' WHERE id = $1")
        .bind(backup_id)
        .execute(&db.pool)
        .await
        .unwrap();
    server.cli_ok(&["delete", "guarded", "--wait"]).await;
}

/// An operator's cancel of a backup in the middle of pgBackRest's work (held still here):
/// the backup is recorded only once that pgBackRest is gone, never while it could still
/// write a set, and then the instance can be backed up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_backup_is_recorded_only_once_its_pgbackrest_is_gone() {
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "halted", "--wait"]).await;
    let view: InstanceView =
        serde_json::from_str(&server.cli_ok(&["get", "halted", "-o", "json"]).await).unwrap();
    let stanza = instance_ids::stanza(&InstanceName::parse("halted").unwrap(), view.id);
    let accepted: BackupAccepted = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "backup", "create", "halted"])
            .await,
    )
    .unwrap();
    let pgbackrest = eventually_every(
        "pgBackRest backing up",
        Duration::from_secs(60),
        Duration::from_millis(5),
        || async {
            let pids = pgbackrest_backing_up(&stanza);
            (!pids.is_empty()).then_some(pids)
        },
    )
    .await;
    for pid in &pgbackrest {
        kill(Pid::from_raw(*pid), Signal::SIGSTOP).unwrap();
    }
    server
        .cli_ok(&["operations", "cancel", &accepted.orchestration_id])
        .await;

    let db = TestDatabase::connect(&server.database_url().await).await;
    let (state, alive) = eventually_every(
        "the backup recorded",
        Duration::from_secs(120),
        Duration::from_millis(5),
        || async {
            let backup = backups::get(&db.pool, accepted.backup.id)
                .await
                .unwrap()
                .unwrap();
            let alive = pgbackrest_backing_up(&stanza);
            (backup.state != BackupState::Running).then_some((backup.state, alive))
        },
    )
    .await;
    assert_eq!(state, BackupState::Failed);
    assert!(
        alive.is_empty(),
        "recorded while pgBackRest {alive:?} still ran"
    );
    server
        .cli_ok(&["backup", "create", "halted", "--wait"])
        .await;
    server.cli_ok(&["delete", "halted", "--wait"]).await;
}
