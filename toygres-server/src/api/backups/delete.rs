//! `DELETE /api/v1/backups/{id}`: removes a backup, answered 202. Asking again while it is
//! removed answers the same removal.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use duroxide::OrchestrationStatus;
use toygres_domain::api::BackupAccepted;
use toygres_domain::{BackupState, ErrorCode};
use toygres_orchestrations::names;
use toygres_orchestrations::types::DeleteBackupInput;
use uuid::Uuid;

use super::{get, supported, view};
use crate::api::{ApiError, AppState};

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
    let status = app
        .client
        .get_orchestration_status(&orchestration_id)
        .await
        .map_err(ApiError::internal)?;
    match status {
        OrchestrationStatus::Running { .. } => {}
        other => {
            if other != OrchestrationStatus::NotFound {
                app.client
                    .delete_instance(&orchestration_id, true)
                    .await
                    .map_err(ApiError::internal)?;
            }
            app.client
                .start_orchestration_typed(
                    &orchestration_id,
                    names::orchestrations::DELETE_BACKUP,
                    DeleteBackupInput {
                        backup_id: backup.id,
                    },
                )
                .await
                .map_err(ApiError::internal)?;
        }
    }
    tracing::info!(backup = %backup.id, instance = %backup.instance_name, orchestration_id = %orchestration_id, "backup deletion accepted");
    let body = BackupAccepted {
        backup: view::backup(&backup),
        orchestration_id,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}
