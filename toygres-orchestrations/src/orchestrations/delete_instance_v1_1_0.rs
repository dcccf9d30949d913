//! delete-instance 1.1.0: from a live record to nothing running and a `deleted` row, in
//! two durable steps.
//!
//! begin delete (mark deleting and tell the actor to stop) → destroy (remove the
//! platform resources on the platform worker pool, then mark deleted). In
//! `CleanUpFailedCreate` mode (run by create-instance after a failure) only the platform
//! resources go; the record stays `failed` with its error.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{retry, tagged};
use crate::activity_types::{DestroyInstanceInput, FencedOutcome, InstanceRef, TransitionOutcome};
use crate::cms::InstanceState;
use crate::names::{activities, tags};
use crate::types::{DeleteInstanceInput, DeleteInstanceOutput, DeleteMode};

pub async fn delete_instance(
    ctx: OrchestrationContext,
    input: DeleteInstanceInput,
) -> Result<DeleteInstanceOutput, String> {
    let instance = InstanceRef {
        instance_id: input.instance_id,
        name: input.name.clone(),
    };
    ctx.trace_info(format!(
        "instance={}: delete started ({:?})",
        instance.name, input.mode
    ));
    let mark_deleted = match input.mode {
        DeleteMode::Delete => {
            if !begin(&ctx, &instance).await? {
                return Ok(output(input, false));
            }
            true
        }
        DeleteMode::CleanUpFailedCreate => false,
    };
    let resources_deleted = destroy(&ctx, &instance, mark_deleted).await?;
    ctx.trace_info(format!(
        "instance={}: delete finished (resources deleted: {resources_deleted})",
        instance.name
    ));
    Ok(output(input, resources_deleted))
}

/// Marks the record deleting; false when it is past that already.
async fn begin(ctx: &OrchestrationContext, instance: &InstanceRef) -> Result<bool, String> {
    ctx.set_custom_status("marking the instance deleting");
    let marked: TransitionOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_BEGIN_DELETE,
            instance,
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    if let TransitionOutcome::NotAllowed { current } = marked {
        ctx.trace_info(format!(
            "instance={}: already {current}, nothing to do",
            instance.name
        ));
        return Ok(false);
    }
    Ok(true)
}

async fn destroy(
    ctx: &OrchestrationContext,
    instance: &InstanceRef,
    mark_deleted: bool,
) -> Result<bool, String> {
    ctx.set_custom_status("deleting platform resources");
    let outcome: FencedOutcome = tagged::run(
        ctx,
        tags::PLATFORM,
        activities::DESTROY_INSTANCE,
        &DestroyInstanceInput {
            record_id: instance.instance_id,
            name: instance.name.clone(),
            mark_deleted,
        },
        5,
        Duration::from_secs(2),
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

fn output(input: DeleteInstanceInput, resources_deleted: bool) -> DeleteInstanceOutput {
    DeleteInstanceOutput {
        instance_id: input.instance_id,
        name: input.name,
        resources_deleted,
    }
}
