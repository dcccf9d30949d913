//! `GET /api/v1/instances[?include_deleted=true]`: live instances, newest first.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use toygres_orchestrations::cms::{self, InstanceState};
use toygres_orchestrations::domain::api::InstanceList;

use super::view;
use crate::api::{ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    include_deleted: bool,
}

pub async fn handle(
    State(app): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<InstanceList>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))?;
    let instances = cms::instances::list(&app.cms)
        .await?
        .iter()
        .filter(|record| params.include_deleted || record.state() != InstanceState::Deleted)
        .map(view::instance)
        .collect();
    Ok(Json(InstanceList { instances }))
}
