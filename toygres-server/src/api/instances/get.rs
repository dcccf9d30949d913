//! `GET /api/v1/instances/{name}`: the live instance of that name, else the last deleted
//! one (so a client waiting for a delete sees `deleted`), with orchestration statuses.

use axum::Json;
use axum::extract::{Path, State};
use toygres_orchestrations::cms;
use toygres_orchestrations::domain::api::InstanceView;

use super::{parse_name, view};
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<InstanceView>, ApiError> {
    let name = parse_name(name)?;
    let record = cms::instances::find_latest(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))?;
    let view = view::with_orchestration_statuses(view::instance(&record), &app.client).await;
    Ok(Json(view))
}
