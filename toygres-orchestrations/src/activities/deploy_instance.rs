//! Deploys an instance on the platform, fenced by the CMS: only while the record is
//! `creating`, so a deploy retried after a delete began can never resurrect the instance.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{DeployInstanceInput, FencedOutcome};
use crate::platform::PlatformError;
use toygres_cms::InstanceState;
use toygres_cms::fence::{self, Fenced};

pub const NAME: &str = crate::names::activities::DEPLOY_INSTANCE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: DeployInstanceInput,
) -> Result<FencedOutcome, String> {
    let name = &input.spec.name;
    ctx.trace_info(format!(
        "instance={name}: deploying PostgreSQL {} on {}",
        input.spec.postgres_version,
        deps.platform.kind()
    ));
    let outcome = fence::while_in_state(
        &deps.fences,
        input.instance_id,
        &[InstanceState::Creating],
        || deps.platform.deploy(&input.spec, input.instance_id),
    )
    .await
    .map_err(|e| e.to_string())?;
    match outcome {
        Ok(Fenced::Done(_)) => {
            ctx.trace_info(format!("instance={name}: deployed"));
            Ok(FencedOutcome::Done)
        }
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_warn(format!(
                "instance={name}: not deployed, the record is {current}"
            ));
            Ok(FencedOutcome::Skipped { state: current })
        }
        Err(PlatformError::Unsupported(reason)) => {
            ctx.trace_error(format!("instance={name}: platform refused: {reason}"));
            Ok(FencedOutcome::Refused { reason })
        }
        Err(e) => {
            let message = format!("deploying instance {name}: {e}");
            ctx.trace_error(format!("instance={name}: {message}"));
            Err(message)
        }
    }
}
