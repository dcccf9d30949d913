//! Backup records: one per backup asked for (by a user or a schedule), and the schedules.
//!
//! A backup's row is reserved before its orchestration starts, under that orchestration's
//! id (a retried reservation finds the same row), and only while the instance is
//! `running` and no other backup of it runs: two backups of one instance never overlap.
//! The row outlives the instance: backups stay until they are deleted (by a user, or by the
//! retention of the instance's schedule while it has one).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::instances::{CmsError, lock_state};
use super::{BackupState, InstanceState};
use toygres_platform::BackupSet;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackupRecord {
    pub id: Uuid,
    pub instance_id: Uuid,
    pub instance_name: String,
    pub stanza: String,
    #[sqlx(try_from = "String")]
    pub state: BackupState,
    pub scheduled: bool,
    pub orchestration_id: String,
    pub label: Option<String>,
    pub size_bytes: Option<i64>,
    pub repository_bytes: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// When the instance was deleted: WAL was archived until then.
    pub instance_deleted_at: Option<DateTime<Utc>>,
    /// While the instance's WAL archiving is stuck: how far its archived WAL reaches.
    pub instance_wal_archived_until: Option<DateTime<Utc>>,
}

/// Why a backup could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Only a running instance is backed up.
    NotRunning(InstanceState),
    /// This backup of the instance runs already.
    Running { backup_id: Uuid },
}

const SELECT: &str = "SELECT b.id, b.instance_id, b.instance_name, b.stanza, b.state,
        b.scheduled, b.orchestration_id, b.label, b.size_bytes, b.repository_bytes,
        b.started_at, b.finished_at, b.error, i.deleted_at AS instance_deleted_at,
        i.wal_archived_until AS instance_wal_archived_until
     FROM toygres_cms.backups b JOIN toygres_cms.instances i ON i.id = b.instance_id";

/// Reserves backup `id` of instance `instance_id`, or returns the row `orchestration_id`
/// reserved already.
pub async fn reserve(
    pool: &PgPool,
    id: Uuid,
    instance_id: Uuid,
    stanza: &str,
    orchestration_id: &str,
    scheduled: bool,
) -> Result<Result<BackupRecord, Refusal>, CmsError> {
    let mut tx = pool.begin().await?;
    let state = lock_state(&mut tx, instance_id).await?;
    let existing: Option<BackupRecord> =
        sqlx::query_as(&format!("{SELECT} WHERE b.orchestration_id = $1"))
            .bind(orchestration_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(existing) = existing {
        return Ok(Ok(existing));
    }
    if state != InstanceState::Running {
        return Ok(Err(Refusal::NotRunning(state)));
    }
    let running: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM toygres_cms.backups WHERE instance_id = $1 AND state = 'running'",
    )
    .bind(instance_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(backup_id) = running {
        return Ok(Err(Refusal::Running { backup_id }));
    }
    sqlx::query(
        "INSERT INTO toygres_cms.backups
             (id, instance_id, instance_name, stanza, state, scheduled, orchestration_id)
         SELECT $1, id, name, $3, 'running', $4, $5 FROM toygres_cms.instances WHERE id = $2",
    )
    .bind(id)
    .bind(instance_id)
    .bind(stanza)
    .bind(scheduled)
    .bind(orchestration_id)
    .execute(&mut *tx)
    .await?;
    let record: BackupRecord = sqlx::query_as(&format!("{SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(record))
}

/// Records a taken backup (a no-op once recorded); whether this call recorded it.
pub async fn complete(pool: &PgPool, id: Uuid, set: &BackupSet) -> Result<bool, CmsError> {
    record_set(pool, id, set, BackupState::Running).await
}

/// Records `set` for backup `id`, `completed`, if it is in state `from`.
async fn record_set(
    pool: &PgPool,
    id: Uuid,
    set: &BackupSet,
    from: BackupState,
) -> Result<bool, CmsError> {
    let recorded = sqlx::query(
        "UPDATE toygres_cms.backups SET state = 'completed', error = NULL, label = $2,
             size_bytes = $3, repository_bytes = $4, started_at = to_timestamp($5),
             finished_at = to_timestamp($6)
         WHERE id = $1 AND state = $7",
    )
    .bind(id)
    .bind(&set.label)
    .bind(set.size_bytes as i64)
    .bind(set.repository_bytes as i64)
    .bind(set.started_at as f64)
    .bind(set.finished_at as f64)
    .bind(from.as_str())
    .execute(pool)
    .await?;
    Ok(recorded.rows_affected() == 1)
}

/// Records a backup that could not be taken (a no-op unless it was running).
pub async fn fail(pool: &PgPool, id: Uuid, error: &str) -> Result<(), CmsError> {
    sqlx::query(
        "UPDATE toygres_cms.backups SET state = 'failed', error = $2, finished_at = now()
         WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks a backup that holds no data (it failed) `deleted`; a no-op for any other.
pub async fn mark_deleted(pool: &PgPool, id: Uuid) -> Result<(), CmsError> {
    sqlx::query(
        "UPDATE toygres_cms.backups SET state = 'deleted'
         WHERE id = $1 AND state = 'failed' AND label IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks completed backups of `stanza` that the repository no longer holds (expired by
/// retention, or removed) with `state`; returns how many.
pub async fn mark_gone(
    pool: &PgPool,
    stanza: &str,
    present: &[String],
    state: BackupState,
) -> Result<u64, CmsError> {
    Ok(sqlx::query(
        "UPDATE toygres_cms.backups SET state = $3
         WHERE stanza = $1 AND state = 'completed' AND NOT (label = ANY($2))",
    )
    .bind(stanza)
    .bind(present)
    .bind(state.as_str())
    .execute(pool)
    .await?
    .rows_affected())
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<BackupRecord>, CmsError> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Every backup of `stanza`, whatever its state.
pub async fn of_stanza(pool: &PgPool, stanza: &str) -> Result<Vec<BackupRecord>, CmsError> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE b.stanza = $1"))
        .bind(stanza)
        .fetch_all(pool)
        .await?)
}

/// The stanzas any backup was ever reserved in.
pub async fn stanzas(pool: &PgPool) -> Result<Vec<String>, CmsError> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT stanza FROM toygres_cms.backups ORDER BY stanza")
            .fetch_all(pool)
            .await?,
    )
}

/// Records `set` for a backup judged failed whose pgBackRest finished it after all (a
/// no-op unless it is `failed`).
pub async fn recover(pool: &PgPool, id: Uuid, set: &BackupSet) -> Result<bool, CmsError> {
    record_set(pool, id, set, BackupState::Failed).await
}

/// Newest first; of instances named `name` only, when given.
pub async fn list(pool: &PgPool, name: Option<&str>) -> Result<Vec<BackupRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE $1::text IS NULL OR b.instance_name = $1 ORDER BY b.started_at DESC"
    ))
    .bind(name)
    .fetch_all(pool)
    .await?)
}

/// Completed backups of the newest record named `name` (live or deleted), oldest first.
pub async fn restorable(pool: &PgPool, name: &str) -> Result<Vec<BackupRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE b.state = 'completed' AND b.instance_id = (
             SELECT id FROM toygres_cms.instances WHERE name = $1
             ORDER BY (state = 'deleted'), created_at DESC LIMIT 1)
         ORDER BY b.finished_at"
    ))
    .bind(name)
    .fetch_all(pool)
    .await?)
}

/// An instance's backup schedule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Schedule {
    pub instance_id: Uuid,
    pub every_secs: i64,
    pub keep: i32,
    pub orchestration_id: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn schedule(pool: &PgPool, instance_id: Uuid) -> Result<Option<Schedule>, CmsError> {
    Ok(sqlx::query_as(
        "SELECT instance_id, every_secs, keep, orchestration_id, updated_at
         FROM toygres_cms.backup_schedules WHERE instance_id = $1",
    )
    .bind(instance_id)
    .fetch_optional(pool)
    .await?)
}

pub async fn set_schedule(
    pool: &PgPool,
    instance_id: Uuid,
    every_secs: u64,
    keep: u32,
    orchestration_id: &str,
) -> Result<(), CmsError> {
    sqlx::query(
        "INSERT INTO toygres_cms.backup_schedules (instance_id, every_secs, keep, orchestration_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (instance_id) DO UPDATE SET every_secs = $2, keep = $3,
             orchestration_id = $4, updated_at = now()",
    )
    .bind(instance_id)
    .bind(every_secs as i64)
    .bind(keep as i32)
    .bind(orchestration_id)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn remove_schedule(pool: &PgPool, instance_id: Uuid) -> Result<(), CmsError> {
    sqlx::query("DELETE FROM toygres_cms.backup_schedules WHERE instance_id = $1")
        .bind(instance_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Backups `running` since before `before` (for reconciliation: one whose orchestration
/// is gone would block the instance's next backups for good).
pub async fn running_since(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<Vec<BackupRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE b.state = 'running' AND b.started_at < $1 ORDER BY b.started_at"
    ))
    .bind(before)
    .fetch_all(pool)
    .await?)
}

/// A schedule with the name and state of its instance.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduledInstance {
    #[sqlx(flatten)]
    pub schedule: Schedule,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub state: InstanceState,
}

/// Schedules unchanged since before `before`, with their instances (for reconciliation).
pub async fn schedules_settled(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<Vec<ScheduledInstance>, CmsError> {
    Ok(sqlx::query_as(
        "SELECT s.instance_id, s.every_secs, s.keep, s.orchestration_id, s.updated_at,
                i.name, i.state
         FROM toygres_cms.backup_schedules s
         JOIN toygres_cms.instances i ON i.id = s.instance_id
         WHERE s.updated_at < $1",
    )
    .bind(before)
    .fetch_all(pool)
    .await?)
}

/// The instance names of backups `ids` (those that exist).
pub async fn instance_names_of(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, CmsError> {
    Ok(
        sqlx::query_as("SELECT id, instance_name FROM toygres_cms.backups WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?,
    )
}

/// The ids of every backup of records `instance_ids`.
pub async fn ids_of_instances(pool: &PgPool, instance_ids: &[Uuid]) -> Result<Vec<Uuid>, CmsError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM toygres_cms.backups WHERE instance_id = ANY($1)")
            .bind(instance_ids)
            .fetch_all(pool)
            .await?,
    )
}
