//! The state transitions `toygres-cli events` shows carry the moment each happened: a
//! transition that waited for the record's lock (held by a fenced platform call, or here
//! by a test) is dated when it got the lock, not when its transaction began.

use std::time::Duration;

use chrono::{DateTime, Utc};
use toygres_cms::{self as cms, InstanceState};
use toygres_test_support::TestDatabase;
use toygres_test_support::control_plane::spec;
use toygres_test_support::database::someone_waits_for_a_lock;

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
    someone_waits_for_a_lock(&db.pool).await;
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

/// An instance that failed and then started again is healthy: the error of the failure is
/// history (its event keeps it), not the record's present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_error_is_cleared_when_an_instance_recovers() {
    let db = TestDatabase::create().await;
    cms::migrate(&db.pool).await.expect("apply CMS migrations");
    let id = cms::instances::reserve(&db.pool, &spec("recovers"), "local", "create-recovers")
        .await
        .unwrap();
    let failed = cms::instances::Change {
        error: Some("restart failed: timed out"),
        ..Default::default()
    };
    let steps = [
        (InstanceState::Failed, &failed),
        (InstanceState::Starting, &cms::instances::Change::default()),
    ];
    for (to, change) in steps {
        cms::instances::transition(&db.pool, id, to, change, "op-recovers")
            .await
            .unwrap();
    }
    let record = cms::instances::get(&db.pool, id).await.unwrap().unwrap();
    assert_eq!(
        record.last_error.as_deref(),
        Some("restart failed: timed out"),
        "kept while the instance is still on its way back"
    );

    cms::instances::transition(
        &db.pool,
        id,
        InstanceState::Running,
        &cms::instances::Change::default(),
        "op-recovers",
    )
    .await
    .unwrap();
    let record = cms::instances::get(&db.pool, id).await.unwrap().unwrap();
    assert_eq!(record.last_error, None);
    let kept: Option<String> = sqlx::query_scalar(
        "SELECT message FROM toygres_cms.instance_events
         WHERE instance_id = $1 AND to_state = 'failed'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(kept.as_deref(), Some("restart failed: timed out"));
}
