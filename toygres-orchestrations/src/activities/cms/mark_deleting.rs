//! `creating | running | failed → deleting`, recording which orchestration deletes it.
//! Waits for any fenced platform call on the record to finish (it holds the row lock).

use std::sync::Arc;

use duroxide::ActivityContext;
use uuid::Uuid;

use crate::Dependencies;
use crate::activity_types::TransitionOutcome;
use toygres_cms::InstanceState;
use toygres_cms::instances::{self, Change};

pub const NAME: &str = crate::names::activities::CMS_MARK_DELETING;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    instance_id: Uuid,
) -> Result<TransitionOutcome, String> {
    let change = Change {
        delete_orchestration_id: Some(ctx.instance_id()),
        ..Change::default()
    };
    let outcome = instances::transition(
        &deps.cms,
        instance_id,
        InstanceState::Deleting,
        &change,
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(outcome.into())
}
