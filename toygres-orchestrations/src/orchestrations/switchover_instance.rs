//! switchover-instance 1.0.0: a running instance's primary role moves to one of its
//! standbys, on purpose (maintenance, a test of the failover path), losing nothing.
//!
//! switching_over (the API moved the record already; the actor is told to stop watching,
//! since the primary is down for a moment) → choose the standby (the one asked for, else
//! the streaming one with the least lag) → checkpoint and cleanly stop the primary (writes
//! stop here; its WAL reaches the standbys) → promote the chosen standby once it has
//! replayed all of it → every other member follows it, the former primary rewound → log
//! in at the new primary → running, with its endpoint → a fresh health actor. Every
//! platform step is fenced by `switching_over` and repeatable, so a crash of the control
//! plane anywhere finishes the switchover once. On failure the record is `failed` with the
//! error, unless a delete overtook it; `start` then starts the recorded primary and its
//! standbys again.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{operation, tagged};
use crate::activity_types::{MovePrimaryInput, MovePrimaryOutcome, PrimaryStep};
use crate::cms::InstanceState;
use crate::names::{activities, tags};
use crate::platform::Endpoint;
use crate::types::{SwitchoverInput, SwitchoverOutput};

pub async fn switchover_instance(
    ctx: OrchestrationContext,
    input: SwitchoverInput,
) -> Result<SwitchoverOutput, String> {
    let operation = &input.operation;
    ctx.trace_info(format!("instance={}: switchover started", operation.name));
    match switchover(&ctx, &input).await {
        Ok((from, to)) => {
            let member = |number: u8| format!("{}-{number}", operation.name);
            ctx.trace_info(format!(
                "instance={}: the primary moved from {} to {}",
                operation.name,
                member(from),
                member(to)
            ));
            Ok(SwitchoverOutput {
                record_id: operation.record_id,
                name: operation.name.clone(),
                from_member: member(from),
                to_member: member(to),
            })
        }
        Err(error) => Err(operation::fail(&ctx, operation, error).await),
    }
}

async fn switchover(
    ctx: &OrchestrationContext,
    input: &SwitchoverInput,
) -> Result<(u8, u8), String> {
    let operation = &input.operation;
    ctx.set_custom_status("stopping health checks");
    operation::transition(ctx, operation, InstanceState::SwitchingOver, true, None).await?;
    ctx.set_custom_status("choosing the standby");
    let (from, to) = match step(ctx, input, PrimaryStep::Choose { to: input.to }).await? {
        MovePrimaryOutcome::Chosen { from, to } => (from, to),
        other => return Err(unexpected(&other)),
    };
    ctx.set_custom_status(format!("stopping the primary {}-{from}", operation.name));
    let wal_ends_at = match step(ctx, input, PrimaryStep::StopPrimary).await? {
        MovePrimaryOutcome::Stopped { wal_ends_at } => wal_ends_at,
        other => return Err(unexpected(&other)),
    };
    ctx.set_custom_status(format!("promoting {}-{to}", operation.name));
    let promote = PrimaryStep::Promote {
        member: to,
        caught_up_to: Some(wal_ends_at),
    };
    step(ctx, input, promote).await?;
    ctx.set_custom_status("rejoining the other members");
    let endpoint: Endpoint = match step(ctx, input, PrimaryStep::Rejoin).await? {
        MovePrimaryOutcome::Rejoined { endpoint } => endpoint,
        other => return Err(unexpected(&other)),
    };
    ctx.set_custom_status("marking it running");
    operation::transition(
        ctx,
        operation,
        InstanceState::Running,
        false,
        Some(endpoint),
    )
    .await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, operation).await?;
    Ok((from, to))
}

/// Runs one step on the platform pool; a refusal or a skipped step ends the switchover.
async fn step(
    ctx: &OrchestrationContext,
    input: &SwitchoverInput,
    step: PrimaryStep,
) -> Result<MovePrimaryOutcome, String> {
    let operation = &input.operation;
    let outcome: MovePrimaryOutcome = tagged::run(
        ctx,
        tags::PLATFORM,
        activities::MOVE_PRIMARY,
        &MovePrimaryInput {
            record_id: operation.record_id,
            name: operation.name.clone(),
            step,
            readiness_timeout_secs: operation.readiness_timeout_secs,
        },
        3,
        Duration::from_secs(2),
    )
    .await?;
    match outcome {
        MovePrimaryOutcome::Skipped { state } => Err(format!(
            "instance {} became {state} while the switchover ran",
            operation.name
        )),
        MovePrimaryOutcome::Refused { reason } => Err(reason),
        done => Ok(done),
    }
}

fn unexpected(outcome: &MovePrimaryOutcome) -> String {
    format!("a switchover step answered {outcome:?}")
}
