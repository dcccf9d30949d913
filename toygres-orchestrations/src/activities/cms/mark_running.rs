//! `creating → running`, recording the endpoint and the actor that will watch it.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activities::measures::seconds_since;
use crate::activity_types::{MarkRunningInput, TransitionOutcome};
use toygres_cms::InstanceState;
use toygres_cms::instances::{self, Change};

pub const NAME: &str = crate::names::activities::CMS_MARK_RUNNING;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: MarkRunningInput,
) -> Result<TransitionOutcome, String> {
    let change = Change {
        endpoint: Some(&input.endpoint),
        actor_orchestration_id: Some(&input.actor_orchestration_id),
        ..Change::default()
    };
    let outcome = instances::transition(
        &deps.cms,
        input.instance_id,
        InstanceState::Running,
        &change,
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?;
    if let instances::Transition::Applied { .. } = outcome
        && let Some(record) = instances::get(&deps.cms, input.instance_id)
            .await
            .map_err(|e| e.to_string())?
    {
        deps.measures
            .create_duration
            .record(seconds_since(record.created_at));
    }
    Ok(outcome.into())
}
