//! failover-instance 1.1.0: 1.0.0 (`failover_instance.rs`), and the lag at failover in
//! its output.
//!
//! Failure detection now passes where the failed primary's WAL reached at its last look
//! that found it answering; the choose step says how far the chosen standby's WAL is
//! behind that (`ChooseMostAdvancedSince`), and the output keeps it as `lag_bytes`:
//! without synchronous standbys, what a failover may have lost. Everything else is
//! 1.0.0's: confirm, fence, choose, promote, rejoin, running, a fresh actor; every step
//! `move-primary`, fenced by `failing_over` and repeatable.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{operation, tagged};
use crate::activity_types::{MovePrimaryInput, MovePrimaryOutcome, PrimaryStep};
use crate::cms::InstanceState;
use crate::names::{activities, tags};
use crate::types::OperationInput;
use crate::types::v1_1::{FailoverInput, FailoverOutput};

pub async fn failover_instance(
    ctx: OrchestrationContext,
    input: FailoverInput,
) -> Result<FailoverOutput, String> {
    let operation = &input.operation;
    ctx.trace_warn(format!(
        "instance={}: failover started: the primary looks failed",
        operation.name
    ));
    match failover(&ctx, operation, input.primary_wal_position).await {
        Ok(output) => Ok(output),
        Err(error) => Err(operation::fail(&ctx, operation, error).await),
    }
}

async fn failover(
    ctx: &OrchestrationContext,
    input: &OperationInput,
    primary_wal_position: Option<u64>,
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
    let choose = PrimaryStep::ChooseMostAdvancedSince {
        primary_wal_position,
    };
    let (from, to, lag_bytes) = match step(ctx, input, choose).await? {
        MovePrimaryOutcome::ChosenBehind {
            from,
            to,
            lag_bytes,
        } => (from, to, lag_bytes),
        other => return Err(unexpected(&other)),
    };
    ctx.set_custom_status(format!("promoting {name}-{to}"));
    let promote = PrimaryStep::Promote {
        member: to,
        caught_up_to: None,
    };
    step(ctx, input, promote).await?;
    let behind = lag_bytes
        .map(|lag| format!(", {lag} bytes of WAL behind it"))
        .unwrap_or_default();
    ctx.trace_warn(format!(
        "instance={name}: {name}-{to} is the primary now (was {name}-{from}{behind})"
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
        lag_bytes,
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
