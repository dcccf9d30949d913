//! Proves a new instance is usable: logs in with its credentials and runs `SELECT 1`.
//! A failed connection is an activity error, so create-instance's retry policy applies;
//! an instance that no longer exists (deleted meanwhile) is reported at once as a result.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{InstanceRef, TestConnectionOutput};
use crate::platform::probe;
use crate::platform::{Login, PlatformError};

pub const NAME: &str = crate::names::activities::TEST_CONNECTION;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<TestConnectionOutput, String> {
    let name = &input.name;
    let target = async {
        let endpoint = deps.platform.endpoint(name).await?;
        let credentials = deps.platform.credentials(name, Login::Owner).await?;
        Ok((endpoint, credentials))
    };
    let (endpoint, credentials) = match target.await {
        Ok(target) => target,
        Err(PlatformError::NotFound(_)) => {
            ctx.trace_warn(format!("instance={name}: gone before its connection test"));
            return Ok(TestConnectionOutput::InstanceGone);
        }
        Err(e) => return Err(e.to_string()),
    };
    match probe::select_one(&endpoint, &credentials, deps.probe_timeout).await {
        Ok(latency) => {
            ctx.trace_info(format!(
                "instance={name}: connection test passed in {latency:?}"
            ));
            Ok(TestConnectionOutput::Connected {
                latency_ms: latency.as_millis() as u64,
            })
        }
        Err(e) => {
            ctx.trace_warn(format!("instance={name}: connection test failed: {e}"));
            Err(e)
        }
    }
}
