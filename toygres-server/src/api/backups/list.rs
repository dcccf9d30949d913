//! `GET /api/v1/backups[?instance=NAME]`: backups, newest first (of every record that had
//! that name, when given).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use toygres_cms::backups;
use toygres_domain::api::BackupList;
use toygres_domain::{ErrorCode, InstanceName};

use super::{supported, view};
use crate::api::{ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    instance: Option<String>,
}

pub async fn handle(
    State(app): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<BackupList>, ApiError> {
    supported(&app)?;
    let Query(params) = params?;
    let name = params
        .instance
        .map(InstanceName::parse)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))?;
    let records = backups::list(&app.cms, name.as_ref().map(InstanceName::as_str)).await?;
    Ok(Json(BackupList {
        backups: records.iter().map(view::backup).collect(),
    }))
}
