//! instance-actor 1.2.0: watches one running instance until it is deleted, recording its
//! changes of health, not its probes.
//!
//! check once (as 1.1.0 does: a health row at once, and the record's state, which covers a
//! delete signalled before the actor existed) → wait for InstanceDeleted, HealthChanged or
//! StandbysDown, whichever comes first → a change is logged; standbys reported down are
//! rebuilt (`rejoin-standbys`, fenced by `running`); up to [`CHANGES_PER_EXECUTION`] of
//! these → `continue_as_new`. The probing itself is the health sweep's
//! (`health_sweep.rs`): every interval, one pass over the running fleet that writes its
//! rows in one statement and queues HealthChanged to the actors whose instance changed.
//! Changed from 1.1.0, which spent a durable timer and a durable activity (two turns and
//! their history) on every probe: a healthy instance now costs no durable step at all. A
//! 1.1.0 actor becomes 1.2.0 at its next `continue_as_new`; its input is 1.1.0's.
//!
//! The signals come through event queues, which hold a message until it is read: one
//! that arrives during the check, or between two waits, is seen by the next wait.

use std::time::Duration;

use duroxide::{Either3, OrchestrationContext};

use super::tagged;
use crate::activity_types::{
    CheckHealthInput, InstanceRef, RecordHealthOutput, RejoinStandbysOutcome,
};
use crate::cms::InstanceState;
use crate::names::{activities, events, tags};
use crate::types::v1_1::InstanceActorInput;
use crate::types::{HealthChanged, InstanceActorOutput, StandbysDown};

/// Changes of health (and rebuilds) per execution: an instance that flaps keeps its history short to
/// replay, and a steady one never needs a new execution.
const CHANGES_PER_EXECUTION: u64 = 20;

pub async fn instance_actor(
    ctx: OrchestrationContext,
    input: InstanceActorInput,
) -> Result<InstanceActorOutput, String> {
    let mut cycle = input.cycle;
    let checked: RecordHealthOutput = tagged::run(
        &ctx,
        tags::HEALTH,
        activities::CHECK_HEALTH,
        &CheckHealthInput {
            record_id: input.instance_id,
            name: input.name.clone(),
            incarnation: input.incarnation.clone(),
            cycle,
        },
        5,
        Duration::from_secs(1),
    )
    .await?;
    if checked.state != InstanceState::Running {
        ctx.trace_info(format!(
            "instance={}: is {}, actor stops",
            input.name, checked.state
        ));
        return Ok(InstanceActorOutput::NoLongerRunning {
            cycle,
            state: checked.state.to_string(),
        });
    }
    for _ in 0..CHANGES_PER_EXECUTION {
        // The losing waits are dropped, which cancels their subscriptions: a message that
        // arrives later goes to the next wait (or the next execution's).
        let deleted = ctx.dequeue_event(events::INSTANCE_DELETED);
        let changed = ctx.dequeue_event(events::HEALTH_CHANGED);
        let standbys_down = ctx.dequeue_event(events::STANDBYS_DOWN);
        match ctx.select3(deleted, changed, standbys_down).await {
            Either3::First(_) => {
                ctx.trace_info(format!(
                    "instance={}: InstanceDeleted received, actor stops",
                    input.name
                ));
                return Ok(InstanceActorOutput::DeletedSignal { cycle });
            }
            Either3::Second(change) => match serde_json::from_str::<HealthChanged>(&change) {
                Ok(change) => ctx.trace_info(format!("instance={}: {change}", input.name)),
                Err(error) => ctx.trace_warn(format!(
                    "instance={}: an unreadable HealthChanged ({error}) is ignored",
                    input.name
                )),
            },
            Either3::Third(down) => rebuild_standbys(&ctx, &input, &down).await,
        }
        // Changes count on from the check's number, so the next execution's check has a
        // number of its own.
        cycle += 1;
    }
    let next = InstanceActorInput { cycle, ..input };
    ctx.continue_as_new_typed(&next)
        .await
        .and_then(|_| Err("continue_as_new returned".to_string()))
}

/// Starts or clones again the standbys failure detection saw down. A failure is logged,
/// never the actor's end: the next report tries again.
async fn rebuild_standbys(ctx: &OrchestrationContext, input: &InstanceActorInput, down: &str) {
    let name = &input.name;
    let members = serde_json::from_str::<StandbysDown>(down)
        .map(|down| down.members.join(", "))
        .unwrap_or_default();
    ctx.trace_warn(format!(
        "instance={name}: standbys down ({members}): rebuilding"
    ));
    let instance = InstanceRef {
        instance_id: input.instance_id,
        name: name.clone(),
    };
    let rebuilt: Result<RejoinStandbysOutcome, String> = tagged::run(
        ctx,
        tags::PLATFORM,
        activities::REJOIN_STANDBYS,
        &instance,
        3,
        Duration::from_secs(2),
    )
    .await;
    match rebuilt {
        Ok(outcome) => ctx.trace_info(format!("instance={name}: standbys {outcome:?}")),
        Err(error) => ctx.trace_error(format!(
            "instance={name}: the standbys could not be rebuilt: {error}"
        )),
    }
}
