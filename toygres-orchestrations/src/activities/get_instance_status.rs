//! Asks the platform whether an instance accepts connections yet (read-only).

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::InstanceRef;
use crate::platform::InstanceStatus;

pub const NAME: &str = crate::names::activities::GET_INSTANCE_STATUS;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<InstanceStatus, String> {
    let status = deps
        .platform
        .status(&input.name)
        .await
        .map_err(|e| format!("status of instance {}: {e}", input.name))?;
    ctx.trace_debug(format!("instance={}: status {status:?}", input.name));
    Ok(status)
}
