//! `creating | running | failed → deleting`, and the actor told to stop, in one step.
//!
//! Waits for any fenced platform call on the record to finish (it holds the row lock).
//! Only a running instance has an actor; an actor whose create was finishing may still
//! start after this and stops by itself when it finds the record `deleting`. A re-run
//! (the record is already `deleting`) signals again: a second InstanceDeleted is harmless.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{InstanceRef, TransitionOutcome};
use crate::cms::InstanceState;
use crate::cms::instances::{self, Change};
use crate::names;

pub const NAME: &str = names::activities::CMS_BEGIN_DELETE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<TransitionOutcome, String> {
    let change = Change {
        delete_orchestration_id: Some(ctx.instance_id()),
        ..Change::default()
    };
    let outcome: TransitionOutcome = instances::transition(
        &deps.cms,
        input.instance_id,
        InstanceState::Deleting,
        &change,
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?
    .into();
    let has_actor = match outcome {
        TransitionOutcome::Applied { from } => from == InstanceState::Running,
        TransitionOutcome::AlreadyThere => true,
        TransitionOutcome::NotAllowed { .. } => false,
    };
    if has_actor {
        let actor = names::instance_ids::instance_actor(input.instance_id);
        ctx.get_client()
            .enqueue_event(&actor, names::events::INSTANCE_DELETED, "{}")
            .await
            .map_err(|e| format!("signalling actor {actor}: {e}"))?;
        ctx.trace_info(format!(
            "instance={}: InstanceDeleted sent to {actor}",
            input.name
        ));
    }
    Ok(outcome)
}
