//! The steps stop, start and restart share: move the record, act on the server (on the
//! platform pool), watch it again, and fail cleanly. Shipped with them: never edited.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{retry, tagged};
use crate::activity_types::{
    OperateInput, OperateOutcome, PlatformOperation, TransitionInput, TransitionOutcome, WatchInput,
};
use crate::cms::InstanceState;
use crate::names::{activities, tags};
use crate::platform::Endpoint;
use crate::types::OperationInput;

/// Moves the record to `to`; `Err` with a sentence when the move is not allowed.
pub async fn transition(
    ctx: &OrchestrationContext,
    input: &OperationInput,
    to: InstanceState,
    stop_watching: bool,
    endpoint: Option<Endpoint>,
) -> Result<(), String> {
    let outcome: TransitionOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_TRANSITION,
            &TransitionInput {
                record_id: input.record_id,
                name: input.name.clone(),
                to,
                stop_watching,
                endpoint,
                error: None,
            },
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    match outcome {
        TransitionOutcome::Applied { .. } | TransitionOutcome::AlreadyThere => Ok(()),
        TransitionOutcome::NotAllowed { current } => Err(format!(
            "instance {} is {current}: it cannot become {to}",
            input.name
        )),
    }
}

/// Runs `operation` on the server; `Ok(endpoint)` when it is done (with the endpoint a
/// (re)started server accepts logins at).
pub async fn operate(
    ctx: &OrchestrationContext,
    input: &OperationInput,
    operation: PlatformOperation,
) -> Result<Option<Endpoint>, String> {
    let outcome: OperateOutcome = tagged::run(
        ctx,
        tags::PLATFORM,
        activities::OPERATE_INSTANCE,
        &OperateInput {
            record_id: input.record_id,
            name: input.name.clone(),
            operation,
            readiness_timeout_secs: input.readiness_timeout_secs,
        },
        3,
        Duration::from_secs(2),
    )
    .await?;
    match outcome {
        OperateOutcome::Done { endpoint } => Ok(endpoint),
        OperateOutcome::Skipped { state } => Err(format!(
            "instance {} became {state} while the operation ran",
            input.name
        )),
        OperateOutcome::Refused { reason } | OperateOutcome::NotReady { reason } => Err(reason),
    }
}

/// Starts a fresh actor once the server is back.
pub async fn watch(ctx: &OrchestrationContext, input: &OperationInput) -> Result<String, String> {
    ctx.schedule_activity_with_retry_typed(
        activities::WATCH_INSTANCE,
        &WatchInput {
            record_id: input.record_id,
            name: input.name.clone(),
            interval_secs: input.health_check_interval_secs,
            incarnation: ctx.instance_id(),
        },
        retry::with_backoff(5, Duration::from_secs(1)),
    )
    .await
}

/// Records the failure (`failed`, with the error) unless a delete overtook the operation,
/// and hands back the error a user should see.
pub async fn fail(ctx: &OrchestrationContext, input: &OperationInput, error: String) -> String {
    let name = &input.name;
    let marked = ctx
        .schedule_activity_with_retry_typed::<_, TransitionOutcome>(
            activities::CMS_TRANSITION,
            &TransitionInput {
                record_id: input.record_id,
                name: name.clone(),
                to: InstanceState::Failed,
                stop_watching: false,
                endpoint: None,
                error: Some(error.clone()),
            },
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await;
    match marked {
        Ok(TransitionOutcome::NotAllowed {
            current: InstanceState::Deleting | InstanceState::Deleted,
        }) => {
            let reason = format!("instance {name} was deleted while the operation ran");
            ctx.trace_warn(format!("instance={name}: {reason} ({error})"));
            reason
        }
        Ok(_) => {
            ctx.trace_error(format!("instance={name}: operation failed: {error}"));
            error
        }
        Err(e) => {
            ctx.trace_error(format!(
                "instance={name}: {error}; could not mark failed: {e}"
            ));
            error
        }
    }
}
