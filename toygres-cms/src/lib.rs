//! The control plane's metadata store (CMS): instance and backup records, their state
//! transitions, health history and the system settings, in the `toygres_cms` schema, and
//! the migrations that make it.
//!
//! A layer of its own: the activities of `toygres-orchestrations` write through it, and
//! the server's API and reconciliation read and write through it; none of them holds SQL
//! of the CMS's tables.
//!
//! Every write here is idempotent, because the activities that call it run at least once:
//! re-running a write after a crash leaves the same rows.

pub mod backups;
pub mod fence;
pub mod health;
pub mod instances;
pub mod system_settings;

pub use toygres_domain::{BackupState, HealthStatus, InstanceState};

/// The CMS schema, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies pending CMS migrations (safe to call from several processes at once).
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
