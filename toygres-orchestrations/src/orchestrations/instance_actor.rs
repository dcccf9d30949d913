//! instance-actor 1.0.0: watches one running instance until it is deleted.
//!
//! probe → record health → wait for `interval` or InstanceDeleted, whichever comes first →
//! `continue_as_new` (so history stays one cycle long). InstanceDeleted comes through the
//! instance's event queue, which holds it until it is read: whether it arrives during the
//! probe, the record, the wait or between generations, the next wait sees it. The actor
//! also stops when the record says the instance is no longer `running`, which covers a
//! delete that happened before the actor existed.

use std::time::{Duration, UNIX_EPOCH};

use duroxide::{Either2, OrchestrationContext};

use super::retry;
use crate::activity_types::{InstanceRef, ProbeResult, RecordHealthInput, RecordHealthOutput};
use crate::cms::InstanceState;
use crate::names::{activities, events};
use crate::types::{InstanceActorInput, InstanceActorOutput};

pub async fn instance_actor(
    ctx: OrchestrationContext,
    input: InstanceActorInput,
) -> Result<InstanceActorOutput, String> {
    let instance = InstanceRef {
        instance_id: input.instance_id,
        name: input.name.clone(),
    };
    let probe: ProbeResult = ctx
        .schedule_activity_typed(activities::PROBE_HEALTH, &instance)
        .await?;
    let checked_at = ctx.utc_now().await?;
    let recorded: RecordHealthOutput = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_RECORD_HEALTH,
            &RecordHealthInput {
                instance_id: input.instance_id,
                checked_at_ms: checked_at
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64,
                probe,
            },
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    if recorded.state != InstanceState::Running {
        ctx.trace_info(format!(
            "instance={}: is {}, actor stops",
            input.name, recorded.state
        ));
        return Ok(InstanceActorOutput::NoLongerRunning {
            cycle: input.cycle,
            state: recorded.state.to_string(),
        });
    }
    let timer = ctx.schedule_timer(Duration::from_secs(input.interval_secs));
    let deleted = ctx.dequeue_event(events::INSTANCE_DELETED);
    if let Either2::Second(_) = ctx.select2(timer, deleted).await {
        ctx.trace_info(format!(
            "instance={}: InstanceDeleted received, actor stops",
            input.name
        ));
        return Ok(InstanceActorOutput::DeletedSignal { cycle: input.cycle });
    }
    let next = InstanceActorInput {
        cycle: input.cycle + 1,
        ..input
    };
    ctx.continue_as_new_typed(&next)
        .await
        .and_then(|_| Err("continue_as_new returned".to_string()))
}
