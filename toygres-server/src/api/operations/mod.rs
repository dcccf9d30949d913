//! Operations: `GET /operations` lists them (filtered, paginated), `GET /operations/{id}`
//! shows one with its typed history, `POST /operations/{id}/cancel` and `/retry` act on
//! one within the rules of `operations::policy`. See `crate::operations`.

pub mod act;
pub mod list;
pub mod show;

use sqlx::PgPool;
use toygres_domain::api::OperationSummary;
use toygres_domain::{ErrorCode, OperationKind, OperationStatus};

use crate::api::ApiError;
use crate::operations::{kind, store, subject};

/// The summaries of `rows`, with their instances' names (two queries for a page).
async fn summaries(pool: &PgPool, rows: &[store::Row]) -> Result<Vec<OperationSummary>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|row| row.instance_id.as_str()).collect();
    let names = subject::instance_names(pool, &ids).await?;
    let now = chrono::Utc::now();
    Ok(rows
        .iter()
        .zip(names)
        .map(|(row, instance)| {
            let status = row.status();
            let finished_at = (status != OperationStatus::Running)
                .then_some(row.completed_at)
                .flatten();
            let until = finished_at.unwrap_or(now);
            let kind = kind::of(&row.orchestration_name);
            OperationSummary {
                id: row.instance_id.clone(),
                kind,
                instance,
                status,
                step: step(row, kind, status),
                orchestration: kind::short(&row.orchestration_name).to_string(),
                version: row.orchestration_version.clone(),
                parent: row.parent_instance_id.clone(),
                started_at: row.created_at,
                finished_at,
                duration_secs: (until - row.created_at).num_milliseconds().max(0) as f64 / 1000.0,
            }
        })
        .collect())
}

/// What it is doing: the step it set, or for a running health actor (which sets none, as
/// it does the same thing all its life) that it watches.
fn step(row: &store::Row, kind: OperationKind, status: OperationStatus) -> Option<String> {
    let watching = kind == OperationKind::Actor && status == OperationStatus::Running;
    row.custom_status
        .clone()
        .or_else(|| watching.then(|| "watching its health".to_string()))
}

/// The operation `id`, or a 404.
async fn find(pool: &PgPool, id: &str) -> Result<OperationSummary, ApiError> {
    let row = store::get(pool, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no operation {id:?}")))?;
    summaries(pool, std::slice::from_ref(&row))
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a summary for one row"))
}

fn refused(why: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::OperationRefused, why)
}
