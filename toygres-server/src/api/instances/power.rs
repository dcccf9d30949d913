//! `POST /api/v1/instances/{name}/stop|start|restart`: a day-2 operation, answered 202
//! (superuser access, see `superuser_access`, goes the same way).
//!
//! Moving the record to the operation's state (`stopping`, `starting`, `restarting`,
//! `configuring`) is the check: it happens under the record's lock, from the states the
//! operation starts from only, so a request in the wrong state is a 409 that changes
//! nothing, and two operations can never run on one instance at once. Then the
//! orchestration starts, under the id the record now names; a server that dies in between
//! is covered by reconciliation. Asking again while the operation runs answers the same
//! operation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::instances::{self, Change, InstanceRecord, Transition};
use toygres_domain::ErrorCode;
use toygres_domain::api::Accepted;
use toygres_orchestrations::names;
use uuid::Uuid;

use toygres_domain::InstanceName;
use toygres_domain::parameters::Settings;

use super::{NamePath, view};
use crate::api::{ApiError, AppState};
use crate::instance_operation::InstanceOperation;

pub async fn stop(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let record = live(&app, &name).await?;
    operate(&app, &record, InstanceOperation::Stop, Asked::default()).await
}

pub async fn start(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let record = live(&app, &name).await?;
    operate(&app, &record, InstanceOperation::Start, Asked::default()).await
}

pub async fn restart(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let record = live(&app, &name).await?;
    operate(&app, &record, InstanceOperation::Restart, Asked::default()).await
}

/// The live record of `name`, or 404.
pub(super) async fn live(app: &AppState, name: &InstanceName) -> Result<InstanceRecord, ApiError> {
    instances::find_live(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))
}

/// What an operation is for, kept with the record so reconciliation can start it again
/// as asked.
#[derive(Debug, Clone, Default)]
pub(super) struct Asked {
    /// Which way a superuser-access change goes.
    pub superuser_access: Option<bool>,
    /// The member a switchover moves the primary to (none: the least lagging standby).
    pub switchover_to: Option<u8>,
    /// Every PostgreSQL parameter the tenant now asks for.
    pub settings: Option<Settings>,
}

/// Moves `record` into `operation`'s state and starts the operation.
pub(super) async fn operate(
    app: &AppState,
    record: &InstanceRecord,
    operation: InstanceOperation,
    asked: Asked,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let name = &record.name;
    let id =
        names::instance_ids::operation(operation.record_operation(), record.id, Uuid::new_v4());
    let change = Change {
        operation_orchestration_id: Some(&id),
        superuser_access_wanted: asked.superuser_access,
        switchover_to: asked.switchover_to,
        settings: asked.settings.as_ref(),
        ..Change::default()
    };
    let (to, cms) = (operation.state(), &app.cms);
    let moved = if operation == InstanceOperation::Start {
        instances::transition(cms, record.id, to, &change, &id).await?
    } else {
        instances::transition_unless_backing_up(cms, record.id, to, &change, &id)
            .await?
            .map_err(|backup| {
                ApiError::new(
                    ErrorCode::BackupRunning,
                    format!(
                        "backup {backup} of \"{name}\" is running; {} it once the backup has finished",
                        operation.kind()
                    ),
                )
            })?
    };
    match moved {
        Transition::Applied { .. } => {}
        Transition::AlreadyThere => {
            tracing::info!(instance = %name, operation = operation.kind(), "already under way");
            let current = record.operation_orchestration_id.clone().unwrap_or(id);
            return accepted(app, record, current).await;
        }
        Transition::NotAllowed { current } => {
            return Err(ApiError::new(
                ErrorCode::InvalidState,
                format!(
                    "instance \"{name}\" is {current}: {}",
                    operation.requirement()
                ),
            ));
        }
    }
    let record = instances::get(&app.cms, record.id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("record {} vanished", record.id)))?;
    operation
        .start(&app.client, &record, &id, app.health_check_interval_secs)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(instance = %name, orchestration_id = %id, operation = operation.kind(), "accepted");
    accepted(app, &record, id).await
}

async fn accepted(
    app: &AppState,
    record: &InstanceRecord,
    orchestration_id: String,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let record = instances::get(&app.cms, record.id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("record {} vanished", record.id)))?;
    let body = Accepted {
        instance: view::instance(&record, app.health_interval()),
        orchestration_id,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}
