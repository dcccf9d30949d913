//! Removes an instance's platform resources and, for a user's delete, records it
//! `deleted`, in one step.
//!
//! The platform call is fenced by the CMS record (only while it is `deleting` or
//! `failed`: once `deleted`, the name may belong to a newer instance, so a late retry
//! must touch nothing). The `deleted` transition follows in its own transaction; a crash
//! between the two repeats the (idempotent) platform delete and then records it.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activities::measures::seconds_since;
use crate::activity_types::{DestroyInstanceInput, FencedOutcome};
use crate::platform::Whose;
use toygres_cms::InstanceState;
use toygres_cms::fence::{self, Fenced};
use toygres_cms::instances::{self, Change};

pub const NAME: &str = crate::names::activities::DESTROY_INSTANCE;

/// `deleting` for a user's delete, `failed` for the cleanup after a failed create. Both
/// hold the name, so no newer instance can own the resources.
const DELETABLE: &[InstanceState] = &[InstanceState::Deleting, InstanceState::Failed];

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: DestroyInstanceInput,
) -> Result<FencedOutcome, String> {
    let name = &input.name;
    let outcome = fence::while_in_state(&deps.fences, input.record_id, DELETABLE, || {
        deps.platform.delete(name, Whose::Record(input.record_id))
    })
    .await
    .map_err(|e| e.to_string())?;
    match outcome {
        Ok(Fenced::Done(())) => {
            ctx.trace_info(format!("instance={name}: platform resources deleted"));
        }
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_info(format!(
                "instance={name}: nothing deleted, the record is {current}"
            ));
            return Ok(FencedOutcome::Skipped { state: current });
        }
        Err(e) => {
            let message = format!("deleting instance {name}: {e}");
            ctx.trace_error(format!("instance={name}: {message}"));
            return Err(message);
        }
    }
    if input.mark_deleted {
        let moved = instances::transition(
            &deps.cms,
            input.record_id,
            InstanceState::Deleted,
            &Change::default(),
            ctx.instance_id(),
        )
        .await
        .map_err(|e| e.to_string())?;
        if let instances::Transition::Applied { .. } = moved {
            record_delete_duration(&deps, input.record_id).await?;
        }
    }
    Ok(FencedOutcome::Done)
}

/// How long the delete took, from the record's move to `deleting`.
async fn record_delete_duration(deps: &Dependencies, record_id: uuid::Uuid) -> Result<(), String> {
    let events = instances::events(&deps.cms, record_id)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(began) = events
        .iter()
        .rev()
        .find(|event| event.to_state == InstanceState::Deleting)
    {
        deps.measures
            .delete_duration
            .record(seconds_since(began.occurred_at));
    }
    Ok(())
}
