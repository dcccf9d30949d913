//! Brings an instance's dead standbys back, fenced by the record's `running` state: a
//! standby whose server stopped is started again as a standby of the primary, and one
//! whose data is gone (or cannot follow the primary's timeline) is cloned again from it.
//! The instance's actor runs it when the server's failure detection sees a standby down
//! twice in a row while the primary answers. `Platform::rejoin` is repeatable, so a re-run
//! (or a second server's report of the same standby) does the work once; a record that
//! left `running` (a stop, a switchover, a delete) is left alone.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{InstanceRef, RejoinStandbysOutcome};
use crate::cms::InstanceState;
use crate::platform::{PlatformError, Whose};
use toygres_cms::fence::{self, Fenced};

pub const NAME: &str = crate::names::activities::REJOIN_STANDBYS;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<RejoinStandbysOutcome, String> {
    let name = &input.name;
    let whose = Whose::Record(input.instance_id);
    let fenced = fence::while_in_state(
        &deps.fences,
        input.instance_id,
        &[InstanceState::Running],
        || deps.platform.rejoin(name, whose),
    )
    .await
    .map_err(|e| e.to_string())?;
    match fenced {
        Ok(Fenced::Done(())) => {
            ctx.trace_info(format!("instance={name}: its standbys follow the primary"));
            Ok(RejoinStandbysOutcome::Rejoined)
        }
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_warn(format!(
                "instance={name}: standbys not rebuilt, the record is {current}"
            ));
            Ok(RejoinStandbysOutcome::Skipped { state: current })
        }
        Err(PlatformError::Unsupported(reason)) => Ok(RejoinStandbysOutcome::Refused { reason }),
        Err(e) => {
            let message = format!("rebuilding the standbys of instance {name}: {e}");
            ctx.trace_error(format!("instance={name}: {message}"));
            Err(message)
        }
    }
}
