//! `DELETE /api/v1/backups/{id}`: removes a backup, answered 202. Asking again while it is
//! removed answers the same removal.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use toygres_domain::api::BackupAccepted;
use toygres_domain::{BackupState, ErrorCode};
use toygres_orchestrations::names;
use toygres_orchestrations::types::DeleteBackupInput;
use uuid::Uuid;

use super::{get, supported, view};
use crate::api::{ApiError, AppState};
use crate::ensure_running::{WhenCompleted, ensure_running};

pub async fn handle(
    State(app): State<AppState>,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<(StatusCode, Json<BackupAccepted>), ApiError> {
    supported(&app)?;
    let backup = get::find(&app, id).await?;
    match backup.state {
        BackupState::Completed | BackupState::Failed => {}
        BackupState::Running => {
            return Err(ApiError::new(
                ErrorCode::BackupRunning,
                format!(
                    "backup {} is running; delete it once it has finished",
                    backup.id
                ),
            ));
        }
        BackupState::Expired | BackupState::Deleted => {
            return Err(ApiError::new(
                ErrorCode::InvalidState,
                format!("backup {} is {} already", backup.id, backup.state),
            ));
        }
    }
    let orchestration_id = names::instance_ids::delete_backup(backup.id);
    let start = || async {
        let input = DeleteBackupInput {
            backup_id: backup.id,
        };
        let orchestration = names::orchestrations::DELETE_BACKUP;
        let client = &app.client;
        Ok(client
            .start_orchestration_typed(&orchestration_id, orchestration, input)
            .await?)
    };
    ensure_running(
        &app.client,
        &orchestration_id,
        WhenCompleted::Replace,
        start,
    )
    .await
    .map_err(ApiError::internal)?;
    tracing::info!(backup = %backup.id, instance = %backup.instance_name, orchestration_id = %orchestration_id, "backup deletion accepted");
    let body = BackupAccepted {
        backup: view::backup(&backup),
        orchestration_id,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}
