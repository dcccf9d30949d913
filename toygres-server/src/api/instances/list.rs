//! `GET /api/v1/instances[?include_deleted=true][&selector=team%3Dweb]`: live instances
//! (those whose labels match the selector), newest first.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use toygres_cms as cms;
use toygres_domain::api::InstanceList;
use toygres_domain::{ErrorCode, Selector};

use super::view;
use crate::api::{ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    include_deleted: bool,
    /// A label selector, as `kubectl -l` takes it.
    #[serde(default)]
    selector: Option<String>,
}

pub async fn handle(
    State(app): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<InstanceList>, ApiError> {
    let Query(params) = params?;
    let selector = params
        .selector
        .as_deref()
        .map(Selector::parse)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::InvalidLabels, e.0))?;
    let records = if params.include_deleted {
        cms::instances::list_all(&app.cms).await?
    } else {
        cms::instances::list_live(&app.cms).await?
    };
    let instances = records
        .iter()
        .filter(|record| {
            selector
                .as_ref()
                .is_none_or(|s| s.matches(&record.labels.0))
        })
        .map(|record| view::instance(record, app.health_interval()))
        .collect();
    Ok(Json(InstanceList { instances }))
}
