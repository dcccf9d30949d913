//! Health history: one row per probe, keyed by the time the actor took from `utc_now()`.
//!
//! The key makes a retried insert a no-op; the instance's summary columns only move
//! forward in time, so a late retry of an old probe never overwrites a newer result.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::InstanceState;
use super::instances::{CmsError, lock_state};

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
    sqlx::query(
        "UPDATE toygres_cms.instances
         SET health_status = CASE WHEN $3 THEN 'healthy' ELSE 'unhealthy' END,
             last_health_check_at = $2
         WHERE id = $1 AND state = 'running'
           AND (last_health_check_at IS NULL OR last_health_check_at <= $2)",
    )
    .bind(id)
    .bind(check.checked_at)
    .bind(check.ok)
    .execute(&mut *tx)
    .await?;
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
