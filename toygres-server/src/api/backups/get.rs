//! `GET /api/v1/backups/{id}`: one backup, with its orchestration's status and step.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use toygres_cms::backups::{self, BackupRecord};
use toygres_domain::ErrorCode;
use toygres_domain::api::BackupView;
use uuid::Uuid;

use super::{supported, view};
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<BackupView>, ApiError> {
    supported(&app)?;
    let record = find(&app, id).await?;
    Ok(Json(view::with_status(&record, &app.client).await))
}

/// The backup a path names: 400 when it is no backup id, 404 when there is none.
pub async fn find(
    app: &AppState,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<BackupRecord, ApiError> {
    let Path(id) = id.map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "a backup is named by its id (a UUID, as `backup list` shows)",
        )
    })?;
    backups::get(&app.cms, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no backup {id}")))
}
