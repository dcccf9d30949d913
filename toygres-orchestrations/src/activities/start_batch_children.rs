//! Starts the children of a batch: for a create, reserves the record (with its labels)
//! under the id the batch made, then starts create-instance on it; for a delete, starts
//! delete-instance under the id the record's delete always has, as `DELETE
//! /instances/{name}` does. Repeatable: a reservation finds its own record by the
//! orchestration id, and an orchestration that exists is never started twice.

use std::sync::Arc;

use duroxide::{ActivityContext, Client, OrchestrationStatus};

use crate::Dependencies;
use crate::activity_types::{ChildStart, StartChildrenInput};
use crate::names::orchestrations;
use crate::types::v1_2::CreateInstanceInput;
use crate::types::{BatchChild, DeleteInstanceInput, DeleteMode};
use toygres_cms::InstanceState;
use toygres_cms::instances::{self, CmsError};

pub const NAME: &str = crate::names::activities::START_BATCH_CHILDREN;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: StartChildrenInput,
) -> Result<Vec<ChildStart>, String> {
    let client = ctx.get_client();
    let mut outcomes = Vec::with_capacity(input.children.len());
    for child in &input.children {
        let outcome = start(&deps, &client, child).await?;
        if let ChildStart::Refused { error } = &outcome {
            ctx.trace_warn(format!("{}: {error}", child.name()));
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn start(
    deps: &Dependencies,
    client: &Client,
    child: &BatchChild,
) -> Result<ChildStart, String> {
    let id = child.orchestration_id();
    match child {
        BatchChild::Create {
            spec,
            labels,
            health_check_interval_secs,
            readiness_timeout_secs,
            ..
        } => {
            let reserved = instances::reserve_restored(
                &deps.cms,
                spec,
                deps.platform.kind(),
                id,
                None,
                labels,
            )
            .await;
            let record_id = match reserved {
                Ok(record_id) => record_id,
                Err(CmsError::NameTaken(name)) => {
                    return Ok(ChildStart::Refused {
                        error: format!("an instance named \"{name}\" already exists"),
                    });
                }
                Err(other) => return Err(other.to_string()),
            };
            let input = CreateInstanceInput {
                record_id,
                spec: spec.clone(),
                health_check_interval_secs: *health_check_interval_secs,
                readiness_timeout_secs: *readiness_timeout_secs,
                restore: None,
            };
            start_once(client, id, orchestrations::CREATE_INSTANCE, &input).await?;
        }
        BatchChild::Delete {
            record_id, name, ..
        } => {
            let record = instances::get(&deps.cms, *record_id)
                .await
                .map_err(|e| e.to_string())?;
            if record.is_none_or(|r| r.state == InstanceState::Deleted) {
                return Ok(ChildStart::AlreadyDone);
            }
            let input = DeleteInstanceInput {
                instance_id: *record_id,
                name: name.clone(),
                mode: DeleteMode::Delete,
            };
            start_once(client, id, orchestrations::DELETE_INSTANCE, &input).await?;
        }
    }
    Ok(ChildStart::Started)
}

/// Starts `orchestration` as `id` unless an orchestration of that id exists.
async fn start_once<T: serde::Serialize>(
    client: &Client,
    id: &str,
    orchestration: &str,
    input: &T,
) -> Result<(), String> {
    let status = client
        .get_orchestration_status(id)
        .await
        .map_err(|e| format!("reading {id}: {e}"))?;
    if !matches!(status, OrchestrationStatus::NotFound) {
        return Ok(());
    }
    client
        .start_orchestration_typed(id, orchestration, input)
        .await
        .map_err(|e| format!("starting {id}: {e}"))
}
