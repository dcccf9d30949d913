//! Any state change of a record, as one step: used by stop, start and restart. Moving to
//! a state in which the server goes away (`stopping`, `restarting`) also tells the
//! instance's actor to stop watching, so it records no failed probe of a server that is
//! meant to be down; the operation starts a new actor once the server is back.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{TransitionInput, TransitionOutcome};
use crate::names;
use toygres_cms::InstanceState;
use toygres_cms::instances::{self, Change};

pub const NAME: &str = names::activities::CMS_TRANSITION;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: TransitionInput,
) -> Result<TransitionOutcome, String> {
    let change = Change {
        endpoint: input.endpoint.as_ref(),
        error: input.error.as_deref(),
        operation_orchestration_id: Some(ctx.instance_id()),
        ..Change::default()
    };
    let outcome: TransitionOutcome = instances::transition(
        &deps.cms,
        input.record_id,
        input.to,
        &change,
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?
    .into();
    let had_actor = match outcome {
        TransitionOutcome::Applied { from } => from == InstanceState::Running,
        // A re-run: the first may have stopped before signalling.
        TransitionOutcome::AlreadyThere => true,
        TransitionOutcome::NotAllowed { .. } => false,
    };
    if input.stop_watching && had_actor {
        let actor = names::instance_ids::instance_actor(input.record_id);
        ctx.get_client()
            .enqueue_event(&actor, names::events::INSTANCE_DELETED, "{}")
            .await
            .map_err(|e| format!("telling actor {actor} to stop: {e}"))?;
        ctx.trace_info(format!(
            "instance={}: actor told to stop watching",
            input.name
        ));
    }
    Ok(outcome)
}
