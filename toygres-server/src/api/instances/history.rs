//! `GET /api/v1/instances/{name}/events` (its state transitions and changes of health) and
//! `GET /api/v1/instances/{name}/health[?limit=N]` (its latest health checks): the record
//! of the live instance of that name, else of the last deleted one.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use toygres_cms::health;
use toygres_cms::instances::{self, InstanceRecord};
use toygres_domain::ErrorCode;
use toygres_domain::api::{
    HealthCheckView, HealthEventView, HealthHistory, InstanceEventView, InstanceEvents,
};

use super::{NamePath, view};
use crate::api::{ApiError, AppState};

const DEFAULT_CHECKS: i64 = 20;
const MAX_CHECKS: i64 = 1000;

pub async fn events(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Json<InstanceEvents>, ApiError> {
    let record = latest(&app, name.as_str()).await?;
    let events = instances::events(&app.cms, record.id)
        .await?
        .into_iter()
        .map(|event| InstanceEventView {
            at: event.occurred_at,
            from: event.from_state,
            to: event.to_state,
            message: event.message,
            operation: event.orchestration_id,
        })
        .collect();
    let health = health::events(&app.cms, record.id)
        .await?
        .into_iter()
        .map(|event| HealthEventView {
            at: event.occurred_at,
            from: event.from_status,
            to: event.to_status,
            reason: event.reason,
        })
        .collect();
    Ok(Json(InstanceEvents {
        instance: record.name,
        events,
        health,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthParams {
    limit: Option<i64>,
}

pub async fn health(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    params: Result<Query<HealthParams>, QueryRejection>,
) -> Result<Json<HealthHistory>, ApiError> {
    let Query(params) = params?;
    let limit = params.limit.unwrap_or(DEFAULT_CHECKS);
    if !(1..=MAX_CHECKS).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("limit must be between 1 and {MAX_CHECKS}"),
        ));
    }
    let record = latest(&app, name.as_str()).await?;
    let checks = health::history(&app.cms, record.id, limit)
        .await?
        .into_iter()
        .map(|check| HealthCheckView {
            at: check.checked_at,
            ok: check.ok,
            latency_ms: check.latency_ms.and_then(|ms| u32::try_from(ms).ok()),
            error: check.message,
        })
        .collect();
    let status = view::instance(&record, app.health_interval()).health.status;
    Ok(Json(HealthHistory {
        instance: record.name,
        status,
        checks,
    }))
}

async fn latest(app: &AppState, name: &str) -> Result<InstanceRecord, ApiError> {
    instances::find_latest(&app.cms, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))
}
