//! instance-actor 1.1.0: watches one running instance until it is deleted, one durable
//! step per check.
//!
//! check (probe and store the result, on the health worker pool, so probes never wait
//! behind deploys) → wait for `interval` or InstanceDeleted, whichever comes first →
//! again, ten times → `continue_as_new` (the history pruner removes old executions).
//! InstanceDeleted comes through the instance's event queue, which holds it until it is
//! read, so it is seen whenever it arrives. The actor also stops when the record says the
//! instance is no longer `running`. Changed from 1.0.0: one activity instead of probe +
//! clock + record, and ten cycles per execution instead of one, so a check costs two
//! orchestration turns instead of three. A 1.0.0 actor becomes 1.1.0 at its next
//! `continue_as_new`.

use std::time::Duration;

use duroxide::{Either2, OrchestrationContext};

use super::tagged;
use crate::activity_types::{CheckHealthInput, RecordHealthOutput};
use crate::cms::InstanceState;
use crate::names::{activities, events, tags};
use crate::types::InstanceActorOutput;
use crate::types::v1_1::InstanceActorInput;

/// Checks per execution: enough that `continue_as_new` (a turn of its own and a new
/// execution row) is rare, few enough that an execution's history stays short to replay.
const CYCLES_PER_EXECUTION: u64 = 10;

pub async fn instance_actor(
    ctx: OrchestrationContext,
    input: InstanceActorInput,
) -> Result<InstanceActorOutput, String> {
    let mut cycle = input.cycle;
    for _ in 0..CYCLES_PER_EXECUTION {
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
        // The losing wait is dropped, which cancels its subscription: an InstanceDeleted
        // that arrives later goes to the next wait (or the next execution's).
        let timer = ctx.schedule_timer(Duration::from_secs(input.interval_secs));
        let deleted = ctx.dequeue_event(events::INSTANCE_DELETED);
        if let Either2::Second(_) = ctx.select2(timer, deleted).await {
            ctx.trace_info(format!(
                "instance={}: InstanceDeleted received, actor stops",
                input.name
            ));
            return Ok(InstanceActorOutput::DeletedSignal { cycle });
        }
        cycle += 1;
    }
    let next = InstanceActorInput { cycle, ..input };
    ctx.continue_as_new_typed(&next)
        .await
        .and_then(|_| Err("continue_as_new returned".to_string()))
}
