//! failover-instance 1.0.0: the primary of an instance with standbys has failed, and the
//! standby whose WAL reaches furthest takes over, without a human.
//!
//! Started by the server's failure detection (see `toygres-server`'s `failover_watch`),
//! which first moved the record `running` → `failing_over` under its lock: one failover
//! per instance at a time, whichever server saw the failure first. Then: confirm the
//! failure by the platform's own view (the process is gone, or did not answer three times
//! in a row; never because the control database did not answer) → fence the failed
//! primary (kill it and every process of it, so no client connected to it commits again)
//! → choose the standby whose WAL reaches furthest → promote it → every other member
//! follows it, the former primary rewound with `pg_rewind` (or cloned again) → log in at
//! the new primary → running, with its endpoint → a fresh health actor. A primary that
//! answers at the confirmation stays the primary (`running` again, nothing moved). Every
//! platform step is `move-primary`, fenced by `failing_over` and repeatable, so a crash of
//! the control plane at any step finishes the failover once. On failure the record is
//! `failed` with the error, unless a delete overtook it.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{operation, tagged};
use crate::activity_types::{MovePrimaryInput, MovePrimaryOutcome, PrimaryStep};
use crate::cms::InstanceState;
use crate::names::{activities, tags};
use crate::types::{FailoverOutput, OperationInput};

pub async fn failover_instance(
    ctx: OrchestrationContext,
    input: OperationInput,
) -> Result<FailoverOutput, String> {
    ctx.trace_warn(format!(
        "instance={}: failover started: the primary looks failed",
        input.name
    ));
    match failover(&ctx, &input).await {
        Ok(output) => Ok(output),
        Err(error) => Err(operation::fail(&ctx, &input, error).await),
    }
}

async fn failover(
    ctx: &OrchestrationContext,
    input: &OperationInput,
) -> Result<FailoverOutput, String> {
    let name = &input.name;
    ctx.set_custom_status("stopping health checks");
    operation::transition(ctx, input, InstanceState::FailingOver, true, None).await?;
    ctx.set_custom_status("confirming the primary has failed");
    let evidence = match step(ctx, input, PrimaryStep::ConfirmFailed).await? {
        MovePrimaryOutcome::Confirmed { evidence } => evidence,
        MovePrimaryOutcome::PrimaryAnswers => {
            ctx.trace_info(format!(
                "instance={name}: the primary answers after all: no failover"
            ));
            back_to_running(ctx, input).await?;
            return Ok(FailoverOutput::PrimaryAnswered {
                record_id: input.record_id,
                name: name.clone(),
            });
        }
        other => return Err(unexpected(&other)),
    };
    ctx.trace_warn(format!(
        "instance={name}: the primary has failed: {evidence}"
    ));
    ctx.set_custom_status("fencing the failed primary");
    step(ctx, input, PrimaryStep::Fence).await?;
    ctx.set_custom_status("choosing the standby");
    let (from, to) = match step(ctx, input, PrimaryStep::ChooseMostAdvanced).await? {
        MovePrimaryOutcome::Chosen { from, to } => (from, to),
        other => return Err(unexpected(&other)),
    };
    ctx.set_custom_status(format!("promoting {name}-{to}"));
    let promote = PrimaryStep::Promote {
        member: to,
        caught_up_to: None,
    };
    step(ctx, input, promote).await?;
    ctx.trace_warn(format!(
        "instance={name}: {name}-{to} is the primary now (was {name}-{from})"
    ));
    ctx.set_custom_status("rejoining the other members");
    let endpoint = match step(ctx, input, PrimaryStep::Rejoin).await? {
        MovePrimaryOutcome::Rejoined { endpoint } => endpoint,
        other => return Err(unexpected(&other)),
    };
    ctx.set_custom_status("marking it running");
    operation::transition(ctx, input, InstanceState::Running, false, Some(endpoint)).await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, input).await?;
    Ok(FailoverOutput::Promoted {
        record_id: input.record_id,
        name: name.clone(),
        from_member: format!("{name}-{from}"),
        to_member: format!("{name}-{to}"),
        evidence,
    })
}

async fn back_to_running(ctx: &OrchestrationContext, input: &OperationInput) -> Result<(), String> {
    ctx.set_custom_status("marking it running");
    operation::transition(ctx, input, InstanceState::Running, false, None).await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, input).await.map(|_| ())
}

/// Runs one step on the platform pool; a refusal or a skipped step ends the failover.
async fn step(
    ctx: &OrchestrationContext,
    input: &OperationInput,
    step: PrimaryStep,
) -> Result<MovePrimaryOutcome, String> {
    let outcome: MovePrimaryOutcome = tagged::run(
        ctx,
        tags::PLATFORM,
        activities::MOVE_PRIMARY,
        &MovePrimaryInput {
            record_id: input.record_id,
            name: input.name.clone(),
            step,
            readiness_timeout_secs: input.readiness_timeout_secs,
        },
        3,
        Duration::from_millis(500),
    )
    .await?;
    match outcome {
        MovePrimaryOutcome::Skipped { state } => Err(format!(
            "instance {} became {state} while the failover ran",
            input.name
        )),
        MovePrimaryOutcome::Refused { reason } => Err(reason),
        done => Ok(done),
    }
}

fn unexpected(outcome: &MovePrimaryOutcome) -> String {
    format!("a failover step answered {outcome:?}")
}
