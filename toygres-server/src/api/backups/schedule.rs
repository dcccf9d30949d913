//! `/api/v1/instances/{name}/backup-schedule`: `PUT {"every_secs", "keep"}` sets it (a
//! backup every interval, the newest `keep` kept), `GET` shows it, `DELETE` ends it.
//!
//! The schedule is one eternal orchestration per instance; new settings reach a running
//! one through its event queue (it continues with them), `null` ends it.

use axum::Json;
use axum::extract::State;
use duroxide::OrchestrationStatus;
use toygres_cms::backups;
use toygres_cms::instances::{self, InstanceRecord};
use toygres_domain::ErrorCode;
use toygres_domain::api::{ScheduleRequest, ScheduleView};
use toygres_orchestrations::names;
use toygres_orchestrations::types::{BackupScheduleInput, ScheduleSettings};

use super::supported;
use crate::api::instances::NamePath;
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};
use crate::ensure_running::{Ensured, WhenCompleted, ensure_running};

/// At most this many backups kept by one schedule.
const MAX_KEEP: u32 = 1000;
/// At most a backup a year apart: a longer interval is a mistake, and the orchestration's
/// timer and the store's column hold it.
const MAX_EVERY_SECS: u64 = 366 * 86_400;

pub async fn put(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    ApiJson(request): ApiJson<ScheduleRequest>,
) -> Result<Json<ScheduleView>, ApiError> {
    supported(&app)?;
    if !(1..=MAX_EVERY_SECS).contains(&request.every_secs)
        || !(1..=MAX_KEEP).contains(&request.keep)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "every_secs must be between 1 and {MAX_EVERY_SECS} (366 days) and keep between 1 and {MAX_KEEP}"
            ),
        ));
    }
    let record = live(&app, name.as_str()).await?;
    let id = names::instance_ids::backup_schedule(record.id);
    let settings = ScheduleSettings {
        every_secs: request.every_secs,
        keep: request.keep,
    };
    backups::set_schedule(&app.cms, record.id, settings.every_secs, settings.keep, &id).await?;
    let start = || async {
        let input = BackupScheduleInput {
            record_id: record.id,
            name: name.clone(),
            stanza: names::instance_ids::stanza(&name, record.id),
            settings,
            generation: uuid::Uuid::new_v4(),
            cycle: 0,
        };
        let orchestration = names::orchestrations::BACKUP_SCHEDULE;
        Ok(app
            .client
            .start_orchestration_typed(&id, orchestration, input)
            .await?)
    };
    let ensured = ensure_running(&app.client, &id, WhenCompleted::Replace, start)
        .await
        .map_err(ApiError::internal)?;
    if let Ensured::Found(_) = ensured {
        // It runs: new settings reach it through its event queue.
        let change = serde_json::to_string(&Some(settings)).map_err(ApiError::internal)?;
        app.client
            .enqueue_event(&id, names::events::BACKUP_SCHEDULE_CHANGED, change)
            .await
            .map_err(ApiError::internal)?;
    }
    tracing::info!(instance = %name, orchestration_id = %id, every_secs = settings.every_secs, keep = settings.keep, "backup schedule set");
    Ok(Json(ScheduleView {
        instance: name.to_string(),
        schedule: Some(request),
        orchestration_id: Some(id),
    }))
}

pub async fn get(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Json<ScheduleView>, ApiError> {
    supported(&app)?;
    let record = live(&app, name.as_str()).await?;
    let schedule = backups::schedule(&app.cms, record.id).await?;
    Ok(Json(ScheduleView {
        instance: name.to_string(),
        orchestration_id: schedule.as_ref().map(|s| s.orchestration_id.clone()),
        schedule: schedule.map(|s| ScheduleRequest {
            every_secs: s.every_secs.max(0) as u64,
            keep: s.keep.max(0) as u32,
        }),
    }))
}

pub async fn delete(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Json<ScheduleView>, ApiError> {
    supported(&app)?;
    let record = live(&app, name.as_str()).await?;
    let id = names::instance_ids::backup_schedule(record.id);
    if let OrchestrationStatus::Running { .. } = app
        .client
        .get_orchestration_status(&id)
        .await
        .map_err(ApiError::internal)?
    {
        app.client
            .enqueue_event(&id, names::events::BACKUP_SCHEDULE_CHANGED, "null")
            .await
            .map_err(ApiError::internal)?;
    }
    backups::remove_schedule(&app.cms, record.id).await?;
    tracing::info!(instance = %name, orchestration_id = %id, "backup schedule off");
    Ok(Json(ScheduleView {
        instance: name.to_string(),
        schedule: None,
        orchestration_id: None,
    }))
}

async fn live(app: &AppState, name: &str) -> Result<InstanceRecord, ApiError> {
    instances::find_live(&app.cms, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))
}
