//! backup-instance 1.0.0: one full backup of a running instance, recorded in the CMS.
//!
//! take the backup (platform pool; idempotent by the backup's id, abandoned if the
//! instance leaves `running`) → record it `completed` with its label and size, or `failed`
//! with why. The API (or a schedule) reserved the backup's record before this started.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{retry, tagged};
use crate::activity_types::{FinishBackupInput, TakeBackupInput, TakeBackupOutcome};
use crate::domain::BackupState;
use crate::names::{activities, tags};
use crate::types::{BackupInput, BackupOutput};

pub async fn backup_instance(
    ctx: OrchestrationContext,
    input: BackupInput,
) -> Result<BackupOutput, String> {
    let name = &input.name;
    ctx.trace_info(format!(
        "instance={name}: backup {} started",
        input.backup_id
    ));
    ctx.set_custom_status("taking the backup");
    let taken = tagged::run::<_, TakeBackupOutcome>(
        &ctx,
        tags::PLATFORM,
        activities::TAKE_BACKUP,
        &TakeBackupInput {
            backup_id: input.backup_id,
            record_id: input.record_id,
            name: name.clone(),
            stanza: input.stanza.clone(),
        },
        2,
        Duration::from_secs(5),
    )
    .await;
    let (set, error) = match taken {
        Ok(TakeBackupOutcome::Taken { set }) => (Some(set), None),
        Ok(TakeBackupOutcome::Interrupted { state }) => (
            None,
            Some(format!("instance {name} became {state} during the backup")),
        ),
        Ok(TakeBackupOutcome::Refused { reason }) => (None, Some(reason)),
        Err(error) => (None, Some(error)),
    };
    ctx.set_custom_status("recording the backup");
    ctx.schedule_activity_with_retry_typed::<_, ()>(
        activities::CMS_FINISH_BACKUP,
        &FinishBackupInput {
            backup_id: input.backup_id,
            set: set.clone(),
            error: error.clone(),
        },
        retry::with_backoff(5, Duration::from_secs(1)),
    )
    .await?;
    match (set, error) {
        (Some(set), _) => {
            ctx.trace_info(format!("instance={name}: backup {} completed", set.label));
            Ok(BackupOutput {
                backup_id: input.backup_id,
                state: BackupState::Completed,
                label: Some(set.label),
            })
        }
        (None, error) => {
            let error = error.unwrap_or_default();
            ctx.trace_error(format!("instance={name}: backup failed: {error}"));
            Err(error)
        }
    }
}
