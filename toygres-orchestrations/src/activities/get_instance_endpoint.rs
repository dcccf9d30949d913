//! Reads where an instance can be reached (read-only; never the password).

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::InstanceRef;
use crate::platform::Endpoint;

pub const NAME: &str = crate::names::activities::GET_INSTANCE_ENDPOINT;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<Endpoint, String> {
    let endpoint = deps
        .platform
        .endpoint(&input.name)
        .await
        .map_err(|e| format!("endpoint of instance {}: {e}", input.name))?;
    ctx.trace_info(format!(
        "instance={}: endpoint {}:{}",
        input.name, endpoint.host, endpoint.port
    ));
    Ok(endpoint)
}
