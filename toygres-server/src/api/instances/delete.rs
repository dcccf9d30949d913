//! `DELETE /api/v1/instances/{name}`: start delete-instance for the live instance, 202.
//!
//! Repeating the request is harmless: the orchestration id is derived from the record, so
//! a second DELETE answers with the delete already under way. A delete orchestration that
//! failed (e.g. a database outage outlasted duroxide's retries) is replaced by a new run
//! under the same id; every step of delete-instance is idempotent. A name with no live
//! instance (never created, or already deleted) is 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use duroxide::OrchestrationStatus;
use toygres_cms as cms;
use toygres_domain::api::Accepted;
use toygres_orchestrations::names;
use toygres_orchestrations::types::{DeleteInstanceInput, DeleteMode};

use super::{NamePath, view};
use crate::api::{ApiError, AppState};
use crate::ensure_running::{Ensured, WhenCompleted, ensure_running};

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let record = cms::instances::find_live(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no live instance named \"{name}\"")))?;
    // The record's delete, or an operator's retry of it that took over.
    let orchestration_id = record
        .delete_orchestration_id
        .clone()
        .unwrap_or_else(|| names::instance_ids::delete_instance(record.id));
    let input = DeleteInstanceInput {
        instance_id: record.id,
        name: name.clone(),
        mode: DeleteMode::Delete,
    };
    let start = || async {
        let orchestration = names::orchestrations::DELETE_INSTANCE;
        let client = &app.client;
        Ok(client
            .start_orchestration_typed(&orchestration_id, orchestration, input)
            .await?)
    };
    let ensured = ensure_running(&app.client, &orchestration_id, WhenCompleted::Keep, start)
        .await
        .map_err(ApiError::internal)?;
    match ensured {
        Ensured::Found(_) => {
            tracing::info!(instance = %name, orchestration_id = %orchestration_id, "delete already under way");
            return Ok(accepted(&app, &record, orchestration_id));
        }
        Ensured::Started {
            replaced: OrchestrationStatus::Failed { details, .. },
        } => tracing::warn!(
            instance = %name,
            orchestration_id = %orchestration_id,
            error = %details.display_message(),
            "replaced a failed delete"
        ),
        Ensured::Started { .. } => {}
    }
    tracing::info!(instance = %name, orchestration_id = %orchestration_id, "delete accepted");
    Ok(accepted(&app, &record, orchestration_id))
}

fn accepted(
    app: &AppState,
    record: &cms::instances::InstanceRecord,
    orchestration_id: String,
) -> (StatusCode, Json<Accepted>) {
    let body = Accepted {
        instance: view::instance(record, app.health_interval()),
        orchestration_id,
    };
    (StatusCode::ACCEPTED, Json(body))
}
