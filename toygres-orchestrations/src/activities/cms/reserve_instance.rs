//! Creates the instance's CMS record in `creating`, keyed by the create orchestration's id:
//! a re-run returns the same record, and a live instance of the same name is an error.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{ReserveInstanceInput, ReserveInstanceOutput};
use toygres_cms::instances;

pub const NAME: &str = crate::names::activities::CMS_RESERVE_INSTANCE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: ReserveInstanceInput,
) -> Result<ReserveInstanceOutput, String> {
    let instance_id = instances::reserve(
        &deps.cms,
        &input.spec,
        deps.platform.kind(),
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?;
    ctx.trace_info(format!(
        "instance={}: reserved CMS record {instance_id}",
        input.spec.name
    ));
    Ok(ReserveInstanceOutput { instance_id })
}
