//! Removes an instance's platform resources, fenced by the CMS: only while the record is
//! `deleting` or `failed`. Once it is `deleted`, the name may belong to a newer instance, so a late
//! retry must touch nothing.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{FencedOutcome, InstanceRef};
use crate::platform::Whose;
use toygres_cms::InstanceState;
use toygres_cms::fence::{self, Fenced};

pub const NAME: &str = crate::names::activities::DELETE_INSTANCE_RESOURCES;

/// `deleting` for a user's delete, `failed` for the cleanup after a failed create. Both
/// hold the name, so no newer instance can own the resources.
const DELETABLE: &[InstanceState] = &[InstanceState::Deleting, InstanceState::Failed];

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<FencedOutcome, String> {
    let name = &input.name;
    let outcome = fence::while_in_state(&deps.fences, input.instance_id, DELETABLE, || {
        deps.platform.delete(name, Whose::Record(input.instance_id))
    })
    .await
    .map_err(|e| e.to_string())?;
    match outcome {
        Ok(Fenced::Done(())) => {
            ctx.trace_info(format!("instance={name}: platform resources deleted"));
            Ok(FencedOutcome::Done)
        }
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_info(format!(
                "instance={name}: nothing deleted, the record is {current}"
            ));
            Ok(FencedOutcome::Skipped { state: current })
        }
        Err(e) => {
            let message = format!("deleting instance {name}: {e}");
            ctx.trace_error(format!("instance={name}: {message}"));
            Err(message)
        }
    }
}
