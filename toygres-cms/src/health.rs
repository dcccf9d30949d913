//! Health history: one row per probe.
//!
//! Rows of the 1.0.0 actor are keyed by the time it took from `utc_now()`; rows of 1.1.0
//! by the actor's incarnation and check number (`probe_key`), with the time stamped by the
//! database. Either key makes a retried insert a no-op; the instance's summary columns
//! only move forward in time, so a late retry of an old probe never overwrites a newer
//! result. Rows older than the pruner's retention are trimmed.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::instances::{CmsError, lock_state, parse_state};
use super::{HealthStatus, InstanceState};

/// One probe result.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HealthCheck {
    pub checked_at: DateTime<Utc>,
    pub ok: bool,
    pub latency_ms: Option<i32>,
    pub message: Option<String>,
}

/// Records `check` and returns the instance's state at that moment.
pub async fn record(
    pool: &PgPool,
    id: Uuid,
    check: &HealthCheck,
) -> Result<InstanceState, CmsError> {
    let mut tx = pool.begin().await?;
    let state = lock_state(&mut tx, id).await?;
    sqlx::query(
        "INSERT INTO toygres_cms.health_checks (instance_id, checked_at, ok, latency_ms, message)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (instance_id, checked_at) DO NOTHING",
    )
    .bind(id)
    .bind(check.checked_at)
    .bind(check.ok)
    .bind(check.latency_ms)
    .bind(&check.message)
    .execute(&mut *tx)
    .await?;
    update_summary(&mut tx, id, check.checked_at, check.ok).await?;
    tx.commit().await?;
    Ok(state)
}

/// Newest first.
pub async fn history(pool: &PgPool, id: Uuid, limit: i64) -> Result<Vec<HealthCheck>, CmsError> {
    Ok(sqlx::query_as(
        "SELECT checked_at, ok, latency_ms, message FROM toygres_cms.health_checks
         WHERE instance_id = $1 ORDER BY checked_at DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// What one probe of the instance actor 1.1.0 found; the database stamps the time.
#[derive(Debug, Clone)]
pub struct Probe {
    pub ok: bool,
    pub latency_ms: Option<i32>,
    /// Why the probe failed, or, for one that reached the server, why the instance is
    /// degraded (reachable, but heading for trouble: WAL archiving stuck, disk nearly full).
    pub message: Option<String>,
    /// While WAL archiving is stuck: how far the archived WAL reaches.
    pub wal_archived_until: Option<DateTime<Utc>>,
}

impl Probe {
    /// The health this probe says the instance has.
    pub fn status(&self) -> HealthStatus {
        match (self.ok, &self.message) {
            (false, _) => HealthStatus::Unhealthy,
            (true, Some(_)) => HealthStatus::Degraded,
            (true, None) => HealthStatus::Healthy,
        }
    }
}

/// What recording a probe found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub state: InstanceState,
    /// The instance's health changed with this probe: from what to what.
    pub change: Option<(HealthStatus, HealthStatus)>,
}

/// Records `probe` under `probe_key` (the actor's incarnation and check number) and returns
/// the instance's state. A second call with the same key stores nothing, and nothing is
/// stored unless the instance is `running` (a probe of a server being stopped, restarted
/// or deleted says nothing about its health). A change of health between healthy,
/// unhealthy and degraded (not the first check's, from unknown) is kept as a health event.
/// A probe that did not reach the server says nothing of its archiving: how far its
/// archived WAL reaches stays as the last probe that did found it.
///
/// One statement, so one round trip: it runs for every instance every few seconds.
pub async fn record_probe(
    pool: &PgPool,
    id: Uuid,
    probe_key: &str,
    probe: &Probe,
) -> Result<Recorded, CmsError> {
    let status = probe.status();
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "WITH record AS (
             SELECT id, state, health_status FROM toygres_cms.instances WHERE id = $1 FOR UPDATE
         ), inserted AS (
             INSERT INTO toygres_cms.health_checks
                 (instance_id, checked_at, ok, latency_ms, message, probe_key)
             SELECT id, clock_timestamp(), $2, $3, $4, $5 FROM record WHERE state = 'running'
             ON CONFLICT (instance_id, probe_key) WHERE probe_key IS NOT NULL DO NOTHING
             RETURNING checked_at
         ), summarised AS (
             UPDATE toygres_cms.instances i
             SET health_status = $6, health_reason = $7,
                 wal_archived_until = CASE WHEN $2 THEN $8 ELSE i.wal_archived_until END,
                 last_health_check_at = inserted.checked_at
             FROM inserted
             WHERE i.id = $1 AND i.state = 'running'
               AND (i.last_health_check_at IS NULL
                    OR i.last_health_check_at <= inserted.checked_at)
             RETURNING i.health_status
         ), changed AS (
             INSERT INTO toygres_cms.health_events (instance_id, from_status, to_status, reason)
             SELECT record.id, record.health_status, summarised.health_status, $7
             FROM record, summarised
             WHERE record.health_status NOT IN ('unknown', summarised.health_status)
             RETURNING from_status
         )
         SELECT record.state, (SELECT from_status FROM changed) FROM record",
    )
    .bind(id)
    .bind(probe.ok)
    .bind(probe.latency_ms)
    .bind(&probe.message)
    .bind(probe_key)
    .bind(status.as_str())
    .bind(&probe.message)
    .bind(probe.wal_archived_until)
    .fetch_optional(pool)
    .await?;
    let (state, changed_from) = row.unzip();
    let state = parse_state(id, state.flatten())?;
    let change = changed_from
        .flatten()
        .and_then(|from| from.parse::<HealthStatus>().ok())
        .map(|from| (from, status));
    Ok(Recorded { state, change })
}

/// One probe of a sweep over the fleet, for [`record_probes`].
#[derive(Debug, Clone)]
pub struct SweptProbe {
    pub instance_id: Uuid,
    /// Names the sweep's time slot: every server sweeping in the same slot writes the same
    /// key, so an instance gets one row per slot however many servers probe it.
    pub probe_key: String,
    pub probe: Probe,
    /// When the probe ended: the moment of the check (its row may be written later, with
    /// a later tick's batch).
    pub at: DateTime<Utc>,
}

/// A change of health that [`record_probes`] kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    pub instance_id: Uuid,
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub reason: Option<String>,
}

/// Records a sweep's probes in one statement, as [`record_probe`] records one, and returns
/// the changes of health they made. A record locked by another transaction is skipped (its
/// probe is dropped, not waited for), so one busy instance never holds up the fleet's
/// health; records are locked in id order, so two sweeps never deadlock.
pub async fn record_probes(
    pool: &PgPool,
    probes: &[SweptProbe],
) -> Result<Vec<HealthChange>, CmsError> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = probes.iter().map(|p| p.instance_id).collect();
    let keys: Vec<&str> = probes.iter().map(|p| p.probe_key.as_str()).collect();
    let statuses: Vec<&str> = probes.iter().map(|p| p.probe.status().as_str()).collect();
    let oks: Vec<bool> = probes.iter().map(|p| p.probe.ok).collect();
    let latencies: Vec<Option<i32>> = probes.iter().map(|p| p.probe.latency_ms).collect();
    let messages: Vec<Option<String>> = probes.iter().map(|p| p.probe.message.clone()).collect();
    let archived: Vec<Option<DateTime<Utc>>> =
        probes.iter().map(|p| p.probe.wal_archived_until).collect();
    let ats: Vec<DateTime<Utc>> = probes.iter().map(|p| p.at).collect();
    let rows: Vec<(Uuid, String, String, Option<String>)> = sqlx::query_as(
        "WITH input AS (
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bool[], $4::int[], $5::text[],
                                  $6::text[], $7::timestamptz[], $8::timestamptz[])
                 AS t(id, probe_key, ok, latency_ms, message, status, wal_archived_until, at)
         ), record AS (
             SELECT i.id, i.health_status FROM toygres_cms.instances i
             WHERE i.id IN (SELECT id FROM input) AND i.state = 'running'
             ORDER BY i.id FOR UPDATE SKIP LOCKED
         ), inserted AS (
             INSERT INTO toygres_cms.health_checks
                 (instance_id, checked_at, ok, latency_ms, message, probe_key)
             SELECT input.id, input.at, input.ok, input.latency_ms, input.message,
                    input.probe_key
             FROM input JOIN record USING (id)
             ON CONFLICT (instance_id, probe_key) WHERE probe_key IS NOT NULL DO NOTHING
             RETURNING instance_id, checked_at
         ), summarised AS (
             UPDATE toygres_cms.instances i
             SET health_status = input.status, health_reason = input.message,
                 wal_archived_until = CASE WHEN input.ok THEN input.wal_archived_until
                                           ELSE i.wal_archived_until END,
                 last_health_check_at = inserted.checked_at
             FROM inserted JOIN input ON input.id = inserted.instance_id
             WHERE i.id = inserted.instance_id AND i.state = 'running'
               AND (i.last_health_check_at IS NULL
                    OR i.last_health_check_at <= inserted.checked_at)
             RETURNING i.id, i.health_status
         )
         INSERT INTO toygres_cms.health_events (instance_id, from_status, to_status, reason)
         SELECT record.id, record.health_status, summarised.health_status, input.message
         FROM record JOIN summarised USING (id) JOIN input USING (id)
         WHERE record.health_status NOT IN ('unknown', summarised.health_status)
         RETURNING instance_id, from_status, to_status, reason",
    )
    .bind(ids)
    .bind(keys)
    .bind(oks)
    .bind(latencies)
    .bind(messages)
    .bind(statuses)
    .bind(archived)
    .bind(ats)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(instance_id, from, to, reason)| {
            Some(HealthChange {
                instance_id,
                from: from.parse().ok()?,
                to: to.parse().ok()?,
                reason,
            })
        })
        .collect())
}

/// One change of an instance's health.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HealthEvent {
    #[sqlx(try_from = "String")]
    pub from_status: HealthStatus,
    #[sqlx(try_from = "String")]
    pub to_status: HealthStatus,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// The instance's changes of health, oldest first.
pub async fn events(pool: &PgPool, id: Uuid) -> Result<Vec<HealthEvent>, CmsError> {
    Ok(sqlx::query_as(
        "SELECT from_status, to_status, reason, occurred_at
         FROM toygres_cms.health_events WHERE instance_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}

/// Moves the instance's summary forward to a newer check (never backwards).
async fn update_summary(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
    checked_at: DateTime<Utc>,
    ok: bool,
) -> Result<(), CmsError> {
    sqlx::query(
        "UPDATE toygres_cms.instances
         SET health_status = CASE WHEN $3 THEN 'healthy' ELSE 'unhealthy' END,
             last_health_check_at = $2
         WHERE id = $1 AND state = 'running'
           AND (last_health_check_at IS NULL OR last_health_check_at <= $2)",
    )
    .bind(id)
    .bind(checked_at)
    .bind(ok)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes checks older than `before`, at most `batch` rows per statement, until none
/// are left; returns how many went.
pub async fn trim(pool: &PgPool, before: DateTime<Utc>, batch: i64) -> Result<u64, CmsError> {
    let mut deleted = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM toygres_cms.health_checks WHERE ctid IN (
                 SELECT ctid FROM toygres_cms.health_checks WHERE checked_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await?
        .rows_affected();
        deleted += done;
        if done < batch as u64 {
            return Ok(deleted);
        }
    }
}
