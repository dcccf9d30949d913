//! The one row of settings the system orchestrations run with. The server that started
//! last wrote it; every server's reconciliation makes the singletons run with it.

use sqlx::PgPool;

use super::instances::CmsError;

/// Makes `settings` the ones every server reconciles to.
pub async fn publish(pool: &PgPool, settings: &serde_json::Value) -> Result<(), CmsError> {
    sqlx::query(
        "INSERT INTO toygres_cms.system_settings (singleton, settings) VALUES (true, $1)
         ON CONFLICT (singleton) DO UPDATE SET settings = $1, written_at = now()",
    )
    .bind(settings)
    .execute(pool)
    .await?;
    Ok(())
}

/// The settings last published (`None`: no server of this version has started yet).
pub async fn current(pool: &PgPool) -> Result<Option<serde_json::Value>, CmsError> {
    Ok(
        sqlx::query_scalar("SELECT settings FROM toygres_cms.system_settings")
            .fetch_optional(pool)
            .await?,
    )
}
