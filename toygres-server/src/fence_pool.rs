//! The connections fenced platform calls hold.
//!
//! A fenced call (a deploy, a delete, a stop, a restore's recovery) holds its record's row
//! lock, and so a transaction and a connection, for as long as the platform takes: up to
//! minutes for a deploy, an hour for a restore. On the pool the API, health recording and
//! reconciliation share, a few slow deploys would take every connection and answer every
//! request 503. Fenced calls get a pool of their own instead, one connection per platform
//! worker (a worker runs one call at a time) and one spare, and the server refuses to
//! start when the control database cannot give it that many.

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Opens the fence pool beside `cms` (same database, login and acquire timeout), sized
/// for `platform_workers`. Its connections open when first needed.
pub async fn open(cms: &PgPool, platform_workers: usize) -> anyhow::Result<PgPool> {
    let size = u32::try_from(platform_workers + 1).context("--platform-workers is too large")?;
    let free = free_connections(cms).await?;
    anyhow::ensure!(
        i64::from(size) <= free,
        "--platform-workers {platform_workers} needs {size} connections to the control \
         database for fenced platform calls, but it accepts only {free} more \
         (max_connections): lower --platform-workers or raise max_connections"
    );
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(cms.options().get_acquire_timeout())
        .connect_lazy_with(cms.connect_options().as_ref().clone()))
}

/// Connections the control database would still accept from a login like ours.
async fn free_connections(cms: &PgPool) -> anyhow::Result<i64> {
    let free = sqlx::query_scalar(
        "SELECT current_setting('max_connections')::bigint
              - current_setting('superuser_reserved_connections')::bigint
              - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
    )
    .fetch_one(cms)
    .await
    .context("reading the control database's connection limit")?;
    Ok(free)
}
