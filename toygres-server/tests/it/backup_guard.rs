//! A stop or restart never takes an instance away from a running backup: the check that no
//! backup runs happens under the record's lock, which a backup's reservation takes too.
//! Here a backup is reserved while the stop waits for that lock: the stop must see it.

use std::time::Duration;

use toygres_domain::api::InstanceView;
use toygres_test_support::server::{ServerOptions, TestServer};
use toygres_test_support::{TestDatabase, eventually};
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
        eventually(
            "the stop to wait for the record",
            Duration::from_secs(20),
            || async {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .fetch_one(&db.pool)
                .await
                .unwrap();
                (waiting > 0).then_some(())
            },
        )
        .await;
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
