//! Makes the tenant's parameters those of every server of an instance, fenced by the
//! record being `configuring` (a delete that overtook the change leaves nothing to do):
//! written where they survive restarts and re-made standbys, reloaded, and restarted
//! (rolling, with standbys) when a changed parameter needs it. Repeatable: the same
//! parameters again write the same files, and the restart is named by the operation.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{ApplySettingsInput, ApplySettingsOutcome};
use crate::platform::{PlatformError, Whose};
use toygres_cms::InstanceState;
use toygres_cms::fence::{self, Fenced};

pub const NAME: &str = crate::names::activities::APPLY_SETTINGS;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: ApplySettingsInput,
) -> Result<ApplySettingsOutcome, String> {
    let name = &input.name;
    let fenced = fence::while_in_state(
        &deps.fences,
        input.record_id,
        &[InstanceState::Configuring],
        || {
            deps.platform.apply_settings(
                name,
                Whose::Record(input.record_id),
                &input.settings,
                &input.restart_token,
            )
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    match fenced {
        Ok(Fenced::Done(applied)) => {
            let restart = match applied.restarted_for.as_slice() {
                [] => "no restart needed".to_string(),
                names => format!("restarted for {}", names.join(", ")),
            };
            ctx.trace_info(format!(
                "the tenant's {} parameter(s) applied; {restart}",
                input.settings.len()
            ));
            Ok(ApplySettingsOutcome::Applied { applied })
        }
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_warn(format!("nothing done, the record is {current}"));
            Ok(ApplySettingsOutcome::Skipped { state: current })
        }
        Err(PlatformError::Unsupported(reason)) => Ok(ApplySettingsOutcome::Refused { reason }),
        Err(e) => Err(format!("applying the parameters of {name}: {e}")),
    }
}
