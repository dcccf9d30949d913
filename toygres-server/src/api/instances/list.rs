//! `GET /api/v1/instances[?include_deleted=true]`: live instances, newest first.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use toygres_cms as cms;
use toygres_domain::api::InstanceList;

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
    let Query(params) = params?;
    let records = if params.include_deleted {
        cms::instances::list_all(&app.cms).await?
    } else {
        cms::instances::list_live(&app.cms).await?
    };
    let instances = records
        .iter()
        .map(|record| view::instance(record, app.health_interval()))
        .collect();
    Ok(Json(InstanceList { instances }))
}
