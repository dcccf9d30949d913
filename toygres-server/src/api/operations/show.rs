//! `GET /api/v1/operations/{id}`: one operation, its input and outcome, the typed timeline
//! of each of its executions, and the operations it started.

use axum::Json;
use axum::extract::{Path, State};
use duroxide::{EventKind, OrchestrationStatus};
use toygres_domain::OperationKind;
use toygres_domain::api::{ExecutionView, OperationDetail};
use toygres_orchestrations::types::BatchInput;

use super::{find, summaries};
use crate::api::{ApiError, AppState};
use crate::operations::{store, timeline};

/// The newest executions shown (an eternal operation may keep a few after pruning).
const MAX_EXECUTIONS: usize = 5;
/// The most sub-orchestrations shown.
const MAX_CHILDREN: i64 = 100;
/// The most children of a batch shown: all it may have.
const MAX_BATCH_CHILDREN: i64 = crate::api::batches::MAX_BATCH as i64;

pub async fn handle(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OperationDetail>, ApiError> {
    let summary = find(&app.cms, &id).await?;
    let mut execution_ids = app
        .client
        .list_executions(&id)
        .await
        .map_err(ApiError::internal)?;
    execution_ids.sort_unstable();
    let newest = execution_ids.len().saturating_sub(MAX_EXECUTIONS);
    let mut executions = Vec::new();
    let mut input = None;
    for execution_id in &execution_ids[newest..] {
        let events = app
            .client
            .read_execution_history(&id, *execution_id)
            .await
            .map_err(ApiError::internal)?;
        let info = app
            .client
            .get_execution_info(&id, *execution_id)
            .await
            .map_err(ApiError::internal)?;
        input = started_with(&events).or(input);
        executions.push(ExecutionView {
            execution_id: *execution_id,
            status: info.status,
            timeline: events.iter().map(timeline::entry).collect(),
        });
    }
    let (output, error) = match app
        .client
        .get_orchestration_status(&id)
        .await
        .map_err(ApiError::internal)?
    {
        OrchestrationStatus::Completed { output, .. } => {
            (Some(timeline::decoded(output.into())), None)
        }
        OrchestrationStatus::Failed { details, .. } => (None, Some(details.display_message())),
        OrchestrationStatus::Running { .. } | OrchestrationStatus::NotFound => (None, None),
    };
    let filter = match batch_children(summary.kind, input.as_ref()) {
        // A batch starts its children as operations of their own (each under the id a
        // single create or delete has), not as sub-orchestrations.
        Some(ids) => store::Filter {
            id_patterns: Some(ids.iter().map(|id| store::exactly(id)).collect()),
            limit: MAX_BATCH_CHILDREN,
            ..store::Filter::default()
        },
        None => store::Filter {
            parent: Some(id.clone()),
            limit: MAX_CHILDREN,
            ..store::Filter::default()
        },
    };
    let children = store::list(&app.cms, &filter)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(OperationDetail {
        summary,
        input,
        output,
        error,
        executions,
        children: summaries(&app.cms, &children).await?,
    }))
}

/// The operations a batch started, from its input.
fn batch_children(kind: OperationKind, input: Option<&serde_json::Value>) -> Option<Vec<String>> {
    if kind != OperationKind::Batch {
        return None;
    }
    let input: BatchInput = serde_json::from_value(input?.clone()).ok()?;
    Some(
        input
            .children
            .iter()
            .map(|child| child.orchestration_id().to_string())
            .collect(),
    )
}

/// The input an execution started with.
fn started_with(events: &[duroxide::Event]) -> Option<serde_json::Value> {
    events.iter().find_map(|event| match &event.kind {
        EventKind::OrchestrationStarted { input, .. } => {
            Some(timeline::decoded(input.clone().into()))
        }
        _ => None,
    })
}
