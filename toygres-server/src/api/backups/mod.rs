//! Backups: `POST /instances/{name}/backups` takes one, `GET /backups[?instance=]` and
//! `GET /backups/{id}` show them, `DELETE /backups/{id}` removes one, and
//! `/instances/{name}/backup-schedule` sets, shows or ends an instance's schedule.
//!
//! Backups are records of their own: they outlive their instance until they are deleted
//! (while the instance has a schedule, its retention expires them). On a platform without backups every route answers
//! `unsupported_on_platform`.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod schedule;
mod view;

use toygres_domain::ErrorCode;

use crate::api::{ApiError, AppState};

/// Refuses when the platform cannot back instances up.
fn supported(app: &AppState) -> Result<(), ApiError> {
    app.platform
        .backup_support()
        .map_err(|reason| ApiError::new(ErrorCode::UnsupportedOnPlatform, reason))
}
