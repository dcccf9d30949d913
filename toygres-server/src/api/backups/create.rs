//! `POST /api/v1/instances/{name}/backups`: one full backup, answered 202.
//!
//! The backup's record is reserved here (only for a running instance, only when no other
//! backup of it runs: else 409), then backup-instance starts under the id it names.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::backups::{self, Refusal};
use toygres_cms::instances;
use toygres_domain::api::BackupAccepted;
use toygres_domain::{ErrorCode, InstanceName};
use toygres_orchestrations::names;
use toygres_orchestrations::types::BackupInput;
use uuid::Uuid;

use super::{supported, view};
use crate::api::instances::NamePath;
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<(StatusCode, Json<BackupAccepted>), ApiError> {
    supported(&app)?;
    let record = instances::find_live(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))?;
    let accepted = start(&app, record.id, &name).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Reserves a backup of record `record_id` (named `name`) and starts backup-instance.
pub async fn start(
    app: &AppState,
    record_id: Uuid,
    name: &InstanceName,
) -> Result<BackupAccepted, ApiError> {
    let backup_id = Uuid::new_v4();
    let orchestration_id = names::instance_ids::backup(record_id, backup_id);
    let stanza = names::instance_ids::stanza(name, record_id);
    let reserved = backups::reserve(
        &app.cms,
        backup_id,
        record_id,
        &stanza,
        &orchestration_id,
        false,
    )
    .await?;
    let backup = match reserved {
        Ok(backup) => backup,
        Err(Refusal::NotRunning(state)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidState,
                format!("instance \"{name}\" is {state}: only a running instance can be backed up"),
            ));
        }
        Err(Refusal::Running { backup_id }) => {
            return Err(ApiError::new(
                ErrorCode::BackupRunning,
                format!("backup {backup_id} of \"{name}\" is running; wait for it to finish"),
            ));
        }
    };
    let input = BackupInput {
        backup_id,
        record_id,
        name: name.clone(),
        stanza,
    };
    app.client
        .start_orchestration_typed(
            &orchestration_id,
            names::orchestrations::BACKUP_INSTANCE,
            input,
        )
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(instance = %name, orchestration_id = %orchestration_id, backup = %backup_id, "backup accepted");
    Ok(BackupAccepted {
        backup: view::backup(&backup),
        orchestration_id,
    })
}
