//! `POST /api/v1/operations/{id}/cancel` and `POST /api/v1/operations/{id}/retry`, within
//! the rules of `operations::policy`: a refusal is a 409 `operation_refused` that says
//! what to do instead, and changes nothing.

use axum::Json;
use axum::extract::{Path, State};
use duroxide::{EventKind, OrchestrationStatus};
use toygres_cms::instances;
use toygres_domain::api::{OperationAction, OperationSummary};
use toygres_domain::{ErrorCode, InstanceName, OperationKind, OperationStatus};
use toygres_orchestrations::names::{
    self,
    instance_ids::{self, Subject, subject_of},
};
use toygres_orchestrations::types::BackupInput;

use super::{find, refused};
use crate::api::{ApiError, AppState};
use crate::operations::policy::{self, Cancel, Retry};
use crate::operations::store;

pub async fn cancel(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OperationAction>, ApiError> {
    let operation = find(&app.cms, &id).await?;
    require_status(&operation, OperationStatus::Running, "cancelled")?;
    let then = match policy::cancel(operation.kind, operation.instance.as_deref()) {
        Cancel::Allowed { then } => then,
        Cancel::Refused { why } => {
            return Err(refused(format!(
                "{} operation is not cancelled: {why}",
                a_kind(operation.kind)
            )));
        }
    };
    app.client
        .cancel_instance(&id, "cancelled by an operator")
        .await
        .map_err(ApiError::internal)?;
    tracing::warn!(instance = operation.instance.as_deref().unwrap_or("-"), orchestration_id = %id, kind = %operation.kind, "operation cancelled by an operator");
    Ok(Json(OperationAction {
        id,
        message: format!("cancelled; {then}"),
    }))
}

pub async fn retry(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OperationAction>, ApiError> {
    let operation = find(&app.cms, &id).await?;
    require_status(&operation, OperationStatus::Failed, "retried")?;
    let action = match policy::retry(operation.kind, operation.instance.as_deref()) {
        Retry::Refused { why } => {
            return Err(refused(format!(
                "{} operation is not retried: {why}",
                a_kind(operation.kind)
            )));
        }
        Retry::SameInput => same_input(&app, &id).await?,
        Retry::NewBackup => new_backup(&app, &id).await?,
    };
    tracing::warn!(instance = operation.instance.as_deref().unwrap_or("-"), orchestration_id = %id, retry = %action.id, kind = %operation.kind, "operation retried by an operator");
    Ok(Json(action))
}

/// "a create", "an actor": the kind with its article, to start a sentence.
fn a_kind(kind: OperationKind) -> String {
    let text = kind.as_str().replace('_', " ");
    let article = if text.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {text}")
}

fn require_status(
    operation: &OperationSummary,
    wanted: OperationStatus,
    done: &str,
) -> Result<(), ApiError> {
    if operation.status == wanted {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidState,
        format!(
            "operation {} is {}: only a {wanted} operation is {done}",
            operation.id, operation.status
        ),
    ))
}

/// Starts the orchestration again, with the input of its latest execution, under the
/// retry's id (`instance_ids::retry`): asking twice finds the first retry. A record's
/// delete that is retried makes the retry the record's delete.
async fn same_input(app: &AppState, id: &str) -> Result<OperationAction, ApiError> {
    let row = store::get(&app.cms, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no operation {id:?}")))?;
    let retry_id = instance_ids::retry(id);
    let existing = app
        .client
        .get_orchestration_status(&retry_id)
        .await
        .map_err(ApiError::internal)?;
    let message = match existing {
        OrchestrationStatus::NotFound => {
            let input = latest_input(app, id).await?;
            app.client
                .start_orchestration(&retry_id, &row.orchestration_name, input)
                .await
                .map_err(ApiError::internal)?;
            format!("started again as {retry_id}, with the same input")
        }
        _ => format!("already retried as {retry_id}"),
    };
    if let Subject::Record(record_id) = subject_of(id)
        && row.orchestration_name == names::orchestrations::DELETE_INSTANCE
        && let Some(record) = instances::get(&app.cms, record_id).await?
        && record.delete_orchestration_id.as_deref().unwrap_or(id) == id
    {
        instances::set_delete_orchestration(&app.cms, record_id, &retry_id).await?;
    }
    Ok(OperationAction {
        message,
        id: retry_id,
    })
}

/// A new backup of the instance a failed backup was of.
async fn new_backup(app: &AppState, id: &str) -> Result<OperationAction, ApiError> {
    let input: BackupInput = serde_json::from_str(&latest_input(app, id).await?)
        .map_err(|e| ApiError::internal(format!("the input of {id}: {e}")))?;
    let name = InstanceName::parse(input.name.as_str()).map_err(|e| ApiError::internal(e.0))?;
    let accepted = crate::api::backups::create::start(app, input.record_id, &name).await?;
    Ok(OperationAction {
        message: format!(
            "backup {} of {name} started as {}",
            accepted.backup.id, accepted.orchestration_id
        ),
        id: accepted.orchestration_id,
    })
}

/// The input the operation's latest execution started with.
async fn latest_input(app: &AppState, id: &str) -> Result<String, ApiError> {
    let info = app
        .client
        .get_instance_info(id)
        .await
        .map_err(ApiError::internal)?;
    let events = app
        .client
        .read_execution_history(id, info.current_execution_id)
        .await
        .map_err(ApiError::internal)?;
    events
        .into_iter()
        .find_map(|event| match event.kind {
            EventKind::OrchestrationStarted { input, .. } => Some(input),
            _ => None,
        })
        .ok_or_else(|| ApiError::internal(format!("{id} has no start in its history")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_a_sentence() {
        assert_eq!(a_kind(OperationKind::Create), "a create");
        assert_eq!(a_kind(OperationKind::Actor), "an actor");
        assert_eq!(a_kind(OperationKind::BackupSchedule), "a backup schedule");
    }
}
