//! `creating → failed`, keeping the error for the user. A record that a delete already
//! moved on is left alone.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{MarkFailedInput, TransitionOutcome};
use toygres_cms::InstanceState;
use toygres_cms::instances::{self, Change};

pub const NAME: &str = crate::names::activities::CMS_MARK_FAILED;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: MarkFailedInput,
) -> Result<TransitionOutcome, String> {
    let change = Change {
        error: Some(&input.error),
        ..Change::default()
    };
    let outcome = instances::transition(
        &deps.cms,
        input.instance_id,
        InstanceState::Failed,
        &change,
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(outcome.into())
}
