//! The state transitions `toygres-cli events` shows carry the moment each happened: a
//! transition that waited for the record's lock (held by a fenced platform call, or here
//! by a test) is dated when it got the lock, not when its transaction began.

use std::time::Duration;

use chrono::{DateTime, Utc};
use toygres_orchestrations::cms::{self, InstanceState};
use toygres_test_support::control_plane::spec;
use toygres_test_support::{TestDatabase, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_that_waited_for_the_lock_is_dated_when_it_happened() {
    let db = TestDatabase::create().await;
    cms::migrate(&db.pool).await.expect("apply CMS migrations");
    let id = cms::instances::reserve(&db.pool, &spec("dated"), "local", "create-dated")
        .await
        .unwrap();

    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM toygres_cms.instances WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let pool = db.pool.clone();
    let waiting = tokio::spawn(async move {
        let change = cms::instances::Change {
            error: Some("gave up"),
            ..Default::default()
        };
        cms::instances::transition(&pool, id, InstanceState::Failed, &change, "create-dated")
            .await
            .unwrap()
    });
    eventually(
        "the transition to wait for the lock",
        Duration::from_secs(10),
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    let released: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    holder.commit().await.unwrap();
    assert!(matches!(
        waiting.await.unwrap(),
        cms::instances::Transition::Applied { .. }
    ));

    let at: DateTime<Utc> = sqlx::query_scalar(
        "SELECT occurred_at FROM toygres_cms.instance_events
         WHERE instance_id = $1 AND to_state = 'failed'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        at >= released,
        "dated {at}, but the lock was only released at {released}"
    );
}
