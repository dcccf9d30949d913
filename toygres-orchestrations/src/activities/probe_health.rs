//! One health probe for the instance actor: a real login and `SELECT 1`. An unreachable
//! instance is a result (`ok: false`), not an activity failure.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{InstanceRef, ProbeResult};
use crate::platform::probe;

pub const NAME: &str = crate::names::activities::PROBE_HEALTH;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<ProbeResult, String> {
    let name = &input.name;
    let target = async {
        let endpoint = deps
            .platform
            .endpoint(name)
            .await
            .map_err(|e| e.to_string())?;
        let credentials = deps
            .platform
            .credentials(name)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((endpoint, credentials))
    };
    let outcome = match target.await {
        Ok((endpoint, credentials)) => {
            probe::select_one(&endpoint, &credentials, deps.probe_timeout).await
        }
        Err(e) => Err(e),
    };
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
