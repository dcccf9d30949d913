//! Deploys a reserved instance and proves it usable, in one step: deploy (fenced by the
//! CMS record being `creating`), wait until the server accepts connections, log in with
//! the instance's own password and run `SELECT 1`.
//!
//! One activity instead of four (deploy, status polls, endpoint, connection test) because
//! every durable step costs a round trip through the store. The wait is bounded here, by
//! the readiness timeout, not by a duroxide per-attempt timeout: this step runs on the
//! platform worker pool and may queue behind other deploys, and time spent queued must
//! never count against it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use duroxide::ActivityContext;

use super::readiness;
use crate::Dependencies;
use crate::activity_types::{ProvisionInstanceInput, ProvisionOutcome};
use crate::cms::InstanceState;
use crate::cms::fence::{self, Fenced};
use crate::domain::InstanceName;
use crate::names;
use crate::platform::{Deployed, PlatformError};

pub const NAME: &str = names::activities::PROVISION_INSTANCE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: ProvisionInstanceInput,
) -> Result<ProvisionOutcome, String> {
    let name = &input.spec.name;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(input.readiness_timeout_secs);
    ctx.trace_info(format!(
        "instance={name}: deploying PostgreSQL {} on {}",
        input.spec.postgres_version,
        deps.platform.kind()
    ));
    let deployed = fence::while_in_state(
        &deps.cms,
        input.record_id,
        &[InstanceState::Creating],
        || deps.platform.deploy(&input.spec),
    )
    .await
    .map_err(|e| e.to_string())?;
    match deployed {
        Ok(Fenced::Done(deployed)) => refill_if_claimed(&ctx, name, deployed).await,
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_warn(format!(
                "instance={name}: not deployed, the record is {current}"
            ));
            return Ok(ProvisionOutcome::Skipped { state: current });
        }
        Err(PlatformError::Unsupported(reason)) => {
            ctx.trace_error(format!("instance={name}: platform refused: {reason}"));
            return Ok(ProvisionOutcome::Refused { reason });
        }
        Err(e) => {
            let message = format!("deploying instance {name}: {e}");
            ctx.trace_error(format!("instance={name}: {message}"));
            return Err(message);
        }
    }
    if let Err(reason) = readiness::wait_until_ready(&deps, name, started, deadline).await? {
        ctx.trace_error(format!("instance={name}: {reason}"));
        return Ok(ProvisionOutcome::NotReady { reason });
    }
    let (endpoint, login) = readiness::log_in(&deps, name).await?;
    ctx.trace_info(format!(
        "instance={name}: ready at {}:{} after {:?}; login took {login:?}",
        endpoint.host,
        endpoint.port,
        started.elapsed()
    ));
    Ok(ProvisionOutcome::Ready {
        endpoint,
        login_ms: login.as_millis() as u64,
    })
}

/// A deploy that took a warm data directory wakes the warm pool to make another.
async fn refill_if_claimed(ctx: &ActivityContext, name: &InstanceName, deployed: Deployed) {
    if !deployed.from_warm_pool {
        return;
    }
    ctx.trace_info(format!("instance={name}: deployed from the warm pool"));
    let sent = ctx
        .get_client()
        .enqueue_event(
            names::instance_ids::WARM_POOL,
            names::events::WARM_POOL_CLAIMED,
            "{}",
        )
        .await;
    if let Err(e) = sent {
        // The pool refills on its own timer too.
        ctx.trace_warn(format!(
            "instance={name}: could not wake the warm pool: {e}"
        ));
    }
}
