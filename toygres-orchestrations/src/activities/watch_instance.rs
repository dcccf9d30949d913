//! Makes sure an actor watches a running instance, after a start or a restart.
//!
//! Any actor still running under the instance's actor id that this step did not start is
//! either the one told to stop watching when the operation began (about to end) or one
//! reconciliation started because this step ran late (it would never end): either way it
//! is cancelled at once, and a fresh one (a new incarnation) starts under the same id. A
//! re-run that finds the actor it started itself (same incarnation) leaves it alone.

use std::sync::Arc;
use std::time::Duration;

use duroxide::{ActivityContext, OrchestrationStatus};

use crate::Dependencies;
use crate::activity_types::WatchInput;
use crate::names;
use crate::types::v1_1::InstanceActorInput;

pub const NAME: &str = names::activities::WATCH_INSTANCE;

/// How long a cancelled actor may take to end: one turn (an activity in flight is not
/// waited for).
const CANCEL_WAIT: Duration = Duration::from_secs(10);

pub async fn run(
    _deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: WatchInput,
) -> Result<String, String> {
    let client = ctx.get_client();
    let actor = names::instance_ids::instance_actor(input.record_id);
    let status = client
        .get_orchestration_status(&actor)
        .await
        .map_err(|e| format!("reading actor {actor}: {e}"))?;
    if let OrchestrationStatus::Running { .. } = status {
        if started_by(&client, &actor).await? == input.incarnation {
            return Ok(actor);
        }
        client
            .cancel_instance(&actor, "replaced by the actor of a start or restart")
            .await
            .map_err(|e| format!("cancelling the old actor {actor}: {e}"))?;
        client
            .wait_for_orchestration(&actor, CANCEL_WAIT)
            .await
            .map_err(|e| format!("waiting for the old actor {actor} to end: {e}"))?;
    }
    if status != OrchestrationStatus::NotFound {
        client
            .delete_instance(&actor, true)
            .await
            .map_err(|e| format!("removing the old actor {actor}: {e}"))?;
    }
    let actor_input = InstanceActorInput {
        instance_id: input.record_id,
        name: input.name.clone(),
        interval_secs: input.interval_secs,
        cycle: 0,
        incarnation: input.incarnation,
    };
    client
        .start_orchestration_typed(&actor, names::orchestrations::INSTANCE_ACTOR, actor_input)
        .await
        .map_err(|e| format!("starting actor {actor}: {e}"))?;
    ctx.trace_info(format!("instance={}: watched again by {actor}", input.name));
    Ok(actor)
}

/// The incarnation the running actor started with.
async fn started_by(client: &duroxide::Client, actor: &str) -> Result<String, String> {
    let info = client
        .get_instance_info(actor)
        .await
        .map_err(|e| format!("reading actor {actor}: {e}"))?;
    let history = client
        .read_execution_history(actor, info.current_execution_id)
        .await
        .map_err(|e| format!("reading actor {actor}: {e}"))?;
    let input = history
        .iter()
        .find_map(|event| match &event.kind {
            duroxide::EventKind::OrchestrationStarted { input, .. } => Some(input.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Ok(serde_json::from_str::<InstanceActorInput>(&input)
        .map(|actor| actor.incarnation)
        .unwrap_or_default())
}
