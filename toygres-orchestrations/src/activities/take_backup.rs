//! Takes one full backup of a running instance (pgBackRest on the local platform).
//!
//! Idempotent by the backup's id, which the platform attaches to the backup it takes: a
//! re-run after a crash finds the backup instead of taking a second one. Not fenced by the
//! record's lock, which would hold up a delete for the whole backup: it runs while the
//! record stays `running` (`while_state`), and when the instance moves on (a delete wins
//! over a backup) the backup is abandoned and reported as interrupted.

use std::sync::Arc;

use duroxide::ActivityContext;

use super::while_state;
use crate::Dependencies;
use crate::activity_types::{TakeBackupInput, TakeBackupOutcome};
use crate::platform::PlatformError;
use toygres_cms::InstanceState;

pub const NAME: &str = crate::names::activities::TAKE_BACKUP;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: TakeBackupInput,
) -> Result<TakeBackupOutcome, String> {
    let name = &input.name;
    ctx.trace_info(format!(
        "instance={name}: backup {} starts",
        input.backup_id
    ));
    let request = input.backup_id.to_string();
    let backup = deps.platform.backup(name, &input.stanza, &request);
    let taken = match while_state::run(&deps, &ctx, input.record_id, InstanceState::Running, backup)
        .await?
    {
        Ok(taken) => taken,
        Err(state) => {
            // Dropping the backup stops pgBackRest; the next backup of the stanza cleans up
            // what it left.
            ctx.trace_warn(format!(
                "instance={name}: no backup, the instance is {state}"
            ));
            return Ok(TakeBackupOutcome::Interrupted { state });
        }
    };
    match taken {
        Ok(set) => {
            ctx.trace_info(format!(
                "instance={name}: backup {} taken ({}, {} bytes)",
                input.backup_id, set.label, set.size_bytes
            ));
            Ok(TakeBackupOutcome::Taken { set })
        }
        Err(PlatformError::Unsupported(reason)) => Ok(TakeBackupOutcome::Refused { reason }),
        Err(e) => {
            let message = format!("backing up instance {name}: {e}");
            ctx.trace_error(format!("instance={name}: {message}"));
            Err(message)
        }
    }
}
