//! `deleting → deleted`. The row stays as history and frees the name.

use std::sync::Arc;

use duroxide::ActivityContext;
use uuid::Uuid;

use crate::Dependencies;
use crate::activity_types::TransitionOutcome;
use toygres_cms::InstanceState;
use toygres_cms::instances::{self, Change};

pub const NAME: &str = crate::names::activities::CMS_MARK_DELETED;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    instance_id: Uuid,
) -> Result<TransitionOutcome, String> {
    let outcome = instances::transition(
        &deps.cms,
        instance_id,
        InstanceState::Deleted,
        &Change::default(),
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(outcome.into())
}
