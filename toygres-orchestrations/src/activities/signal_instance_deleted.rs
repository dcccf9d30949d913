//! Tells an instance's actor to stop: enqueues InstanceDeleted on its event queue.
//!
//! A queued event waits for the actor to read it, whatever the actor is doing when it
//! arrives (probing, recording, between `continue_as_new` generations). Sending it twice
//! is harmless: the actor ends at the first one.

use duroxide::ActivityContext;

use crate::activity_types::InstanceRef;
use crate::names;

pub const NAME: &str = names::activities::SIGNAL_INSTANCE_DELETED;

pub async fn run(ctx: ActivityContext, input: InstanceRef) -> Result<(), String> {
    let actor = names::instance_ids::instance_actor(input.instance_id);
    ctx.get_client()
        .enqueue_event(&actor, names::events::INSTANCE_DELETED, "{}")
        .await
        .map_err(|e| format!("signalling actor {actor}: {e}"))?;
    ctx.trace_info(format!(
        "instance={}: InstanceDeleted sent to {actor}",
        input.name
    ));
    Ok(())
}
