//! Stops, starts or restarts an instance's server, or changes its superuser access,
//! fenced by the record's state for that operation (`stopping`, `starting`, `restarting`,
//! `configuring`): a delete that overtook the operation leaves nothing for it to do. After
//! anything but a stop, waits until the server accepts connections and logs in with the
//! owner's login, like provision-instance. A change of superuser access is recorded on the
//! record once the platform has made it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use duroxide::ActivityContext;

use super::readiness;
use crate::Dependencies;
use crate::activity_types::{OperateInput, OperateOutcome, PlatformOperation};
use crate::platform::{Login, PlatformError, Whose};
use toygres_cms::fence::{self, Fenced};
use toygres_cms::instances;

pub const NAME: &str = crate::names::activities::OPERATE_INSTANCE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: OperateInput,
) -> Result<OperateOutcome, String> {
    let name = &input.name;
    let whose = Whose::Record(input.record_id);
    let started = Instant::now();
    let fenced = fence::while_in_state(
        &deps.fences,
        input.record_id,
        &[input.operation.state()],
        || async {
            match &input.operation {
                PlatformOperation::Stop => deps.platform.stop(name, whose).await,
                PlatformOperation::Start => deps.platform.start(name, whose).await,
                PlatformOperation::Restart { token } => {
                    deps.platform.restart(name, whose, token).await
                }
                PlatformOperation::SetSuperuserAccess { enabled } => {
                    deps.platform
                        .set_superuser_access(name, whose, *enabled)
                        .await
                }
            }
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    match fenced {
        Ok(Fenced::Done(())) => {}
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_warn(format!(
                "instance={name}: nothing done, the record is {current}"
            ));
            return Ok(OperateOutcome::Skipped { state: current });
        }
        Err(PlatformError::Unsupported(reason)) => return Ok(OperateOutcome::Refused { reason }),
        Err(e) => {
            let message = format!("{:?} of instance {name}: {e}", input.operation);
            ctx.trace_error(format!("instance={name}: {message}"));
            return Err(message);
        }
    }
    if let PlatformOperation::SetSuperuserAccess { enabled } = input.operation {
        instances::record_superuser_access(&deps.cms, input.record_id, enabled)
            .await
            .map_err(|e| e.to_string())?;
        ctx.trace_info(format!(
            "instance={name}: superuser access is {}",
            if enabled { "on" } else { "off" }
        ));
    }
    if input.operation == PlatformOperation::Stop {
        ctx.trace_info(format!("instance={name}: stopped"));
        return Ok(OperateOutcome::Done { endpoint: None });
    }
    let deadline = started + Duration::from_secs(input.readiness_timeout_secs);
    if let Err(reason) = readiness::wait_until_ready(&deps, name, started, deadline).await? {
        return Ok(OperateOutcome::NotReady { reason });
    }
    let (endpoint, login) = readiness::log_in(&deps, name, Login::Owner).await?;
    ctx.trace_info(format!(
        "instance={name}: accepts connections again after {:?} (login {login:?})",
        started.elapsed()
    ));
    Ok(OperateOutcome::Done {
        endpoint: Some(endpoint),
    })
}
