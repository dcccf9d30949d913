//! One health probe for the instance actor: a real login and `SELECT 1`. An unreachable
//! instance is a result (`ok: false`), not an activity failure.

use std::sync::Arc;

use duroxide::ActivityContext;

use super::readiness;
use crate::Dependencies;
use crate::activity_types::{InstanceRef, ProbeResult};
use crate::platform::Login;

pub const NAME: &str = crate::names::activities::PROBE_HEALTH;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<ProbeResult, String> {
    let name = &input.name;
    let outcome = readiness::log_in(&deps, name, Login::Monitor)
        .await
        .map(|(_, latency)| latency);
    let result = match outcome {
        Ok(latency) => ProbeResult {
            ok: true,
            latency_ms: Some(latency.as_millis() as u64),
            message: None,
        },
        Err(e) => {
            ctx.trace_warn(format!("instance={name}: health probe failed: {e}"));
            ProbeResult {
                ok: false,
                latency_ms: None,
                message: Some(e),
            }
        }
    };
    Ok(result)
}
