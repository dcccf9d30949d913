//! backup-schedule 1.0.0: backs one instance up every interval and keeps the newest few.
//!
//! wait `every` (or for new settings) → reserve this tick's backup (skipped when the
//! instance is not running or another backup runs) → backup-instance as a sub-orchestration
//! under the id the reservation records → expire all but the newest `keep` →
//! `continue_as_new`. New settings arrive on the
//! instance's schedule queue (`null` turns it off); it also ends when the instance is
//! deleted. One per instance, under `names::instance_ids::backup_schedule`.

use std::time::Duration;

use duroxide::{Either2, OrchestrationContext};

use super::{retry, tagged};
use crate::activity_types::{ExpireBackupsInput, ReserveBackupInput, ReserveBackupOutcome};
use crate::cms::InstanceState;
use crate::names::{activities, events, instance_ids, orchestrations, tags};
use crate::types::{
    BackupInput, BackupOutput, BackupScheduleInput, BackupScheduleOutput, ScheduleSettings,
};

pub async fn backup_schedule(
    ctx: OrchestrationContext,
    input: BackupScheduleInput,
) -> Result<BackupScheduleOutput, String> {
    let name = &input.name;
    ctx.set_custom_status("waiting for the next backup");
    let timer = ctx.schedule_timer(Duration::from_secs(input.settings.every_secs));
    let changed = ctx.dequeue_event(events::BACKUP_SCHEDULE_CHANGED);
    if let Either2::Second(change) = ctx.select2(timer, changed).await {
        return match serde_json::from_str::<Option<ScheduleSettings>>(&change) {
            Ok(Some(settings)) => {
                ctx.trace_info(format!(
                    "instance={name}: backup schedule changed to {settings:?}"
                ));
                let next = BackupScheduleInput { settings, ..input };
                ctx.continue_as_new_typed(&next)
                    .await
                    .and_then(|_| Err("continue_as_new returned".to_string()))
            }
            Ok(None) | Err(_) => {
                ctx.trace_info(format!("instance={name}: backup schedule off"));
                Ok(BackupScheduleOutput::Off)
            }
        };
    }
    ctx.set_custom_status("backing up");
    let backup_orchestration =
        instance_ids::scheduled_backup(input.record_id, input.generation, input.cycle);
    let reserved: ReserveBackupOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_RESERVE_BACKUP,
            &ReserveBackupInput {
                record_id: input.record_id,
                stanza: input.stanza.clone(),
                key: backup_orchestration.clone(),
            },
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    match reserved {
        ReserveBackupOutcome::Reserved { backup_id } => {
            let backup = ctx
                .schedule_sub_orchestration_with_id_typed::<_, BackupOutput>(
                    orchestrations::BACKUP_INSTANCE,
                    &backup_orchestration,
                    &BackupInput {
                        backup_id,
                        record_id: input.record_id,
                        name: name.clone(),
                        stanza: input.stanza.clone(),
                    },
                )
                .await;
            if let Err(error) = backup {
                ctx.trace_warn(format!("instance={name}: scheduled backup failed: {error}"));
            }
            let expired = tagged::run::<_, u64>(
                &ctx,
                tags::PLATFORM,
                activities::EXPIRE_BACKUPS,
                &ExpireBackupsInput {
                    stanza: input.stanza.clone(),
                    keep: input.settings.keep,
                },
                3,
                Duration::from_secs(5),
            )
            .await;
            if let Err(error) = expired {
                ctx.trace_warn(format!("instance={name}: expiring backups failed: {error}"));
            }
        }
        ReserveBackupOutcome::NotRunning {
            state: InstanceState::Deleting | InstanceState::Deleted,
        } => {
            ctx.trace_info(format!("instance={name}: deleted, backup schedule ends"));
            return Ok(BackupScheduleOutput::InstanceGone);
        }
        ReserveBackupOutcome::NotRunning { state } => {
            ctx.trace_info(format!("instance={name}: {state}, no backup this time"));
        }
        ReserveBackupOutcome::Busy { backup_id } => {
            ctx.trace_info(format!(
                "instance={name}: backup {backup_id} runs, none this time"
            ));
        }
    }
    let next = BackupScheduleInput {
        cycle: input.cycle + 1,
        ..input
    };
    ctx.continue_as_new_typed(&next)
        .await
        .and_then(|_| Err("continue_as_new returned".to_string()))
}
