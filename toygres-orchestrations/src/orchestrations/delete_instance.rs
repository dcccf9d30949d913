//! delete-instance 1.0.0: from a live record to nothing running and a `deleted` row.
//!
//! mark deleting → signal InstanceDeleted to the actor (if it was running) → delete
//! platform resources → mark deleted. In `CleanUpFailedCreate` mode (run by
//! create-instance after a failure) only the platform resources go; the record stays
//! `failed` with its error.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::retry;
use crate::activity_types::{FencedOutcome, InstanceRef, TransitionOutcome};
use crate::cms::InstanceState;
use crate::names::activities;
use crate::types::{DeleteInstanceInput, DeleteInstanceOutput, DeleteMode};

pub async fn delete_instance(
    ctx: OrchestrationContext,
    input: DeleteInstanceInput,
) -> Result<DeleteInstanceOutput, String> {
    let instance = InstanceRef {
        instance_id: input.instance_id,
        name: input.name.clone(),
    };
    let name = &instance.name;
    ctx.trace_info(format!(
        "instance={name}: delete started ({:?})",
        input.mode
    ));
    let resources_deleted = match input.mode {
        DeleteMode::Delete => delete(&ctx, &instance).await?,
        DeleteMode::CleanUpFailedCreate => delete_resources(&ctx, &instance).await?,
    };
    ctx.trace_info(format!(
        "instance={name}: delete finished (resources deleted: {resources_deleted})"
    ));
    Ok(DeleteInstanceOutput {
        instance_id: input.instance_id,
        name: input.name,
        resources_deleted,
    })
}

async fn delete(ctx: &OrchestrationContext, instance: &InstanceRef) -> Result<bool, String> {
    ctx.set_custom_status("marking the instance deleting");
    let marked: TransitionOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_MARK_DELETING,
            &instance.instance_id,
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    let has_actor = match marked {
        TransitionOutcome::NotAllowed { current } => {
            ctx.trace_info(format!(
                "instance={}: already {current}, nothing to do",
                instance.name
            ));
            return Ok(false);
        }
        // Only a running instance has an actor. An actor whose create was finishing may
        // still start after this; it finds the record `deleting` and stops by itself.
        TransitionOutcome::Applied { from } => from == InstanceState::Running,
        // A re-run whose first attempt may have crashed before signalling: signal again,
        // a second InstanceDeleted is harmless.
        TransitionOutcome::AlreadyThere => true,
    };
    if has_actor {
        ctx.set_custom_status("stopping health checks");
        ctx.schedule_activity_with_retry_typed::<_, ()>(
            activities::SIGNAL_INSTANCE_DELETED,
            instance,
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    }
    let deleted = delete_resources(ctx, instance).await?;
    ctx.set_custom_status("recording the deletion");
    let _: TransitionOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_MARK_DELETED,
            &instance.instance_id,
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    Ok(deleted)
}

async fn delete_resources(
    ctx: &OrchestrationContext,
    instance: &InstanceRef,
) -> Result<bool, String> {
    ctx.set_custom_status("deleting platform resources");
    let outcome: FencedOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::DELETE_INSTANCE_RESOURCES,
            instance,
            retry::with_backoff(5, Duration::from_secs(2)),
        )
        .await?;
    match outcome {
        FencedOutcome::Done => Ok(true),
        FencedOutcome::Skipped {
            state: InstanceState::Deleted,
        } => Ok(false),
        FencedOutcome::Skipped { state } => Err(format!(
            "instance {} is {state}: its resources cannot be deleted now",
            instance.name
        )),
        FencedOutcome::Refused { reason } => Err(reason),
    }
}
