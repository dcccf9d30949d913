//! Recovery of backups and backup schedules.
//!
//! - A backup left `running` whose orchestration never started (the server died between
//!   the reservation and the start): start backup-instance under the id its row names
//!   (a scheduled one is left to its schedule while that runs). One whose orchestration
//!   ended without recording how (cancelled, or failed for good), or whose schedule is
//!   gone, is closed, or it would block every later backup of its instance: once no
//!   pgBackRest of its stanza runs any more, a set in the repository taken for it is
//!   recorded (`completed`, so it can be restored and deleted like any other), and
//!   without one it is marked failed.
//! - A schedule whose orchestration is gone (failed for good, or never started) while its
//!   instance lives: start a new run of it. One whose instance is being deleted or is gone:
//!   remove it.

use duroxide::{Client, OrchestrationStatus};
use sqlx::PgPool;
use toygres_cms::backups::{self, BackupRecord, ScheduledInstance};
use toygres_domain::{InstanceName, InstanceState};
use toygres_orchestrations::names;
use toygres_orchestrations::types::{BackupInput, BackupScheduleInput, ScheduleSettings};
use toygres_platform::Platform;

use crate::backup_closing;
use crate::ensure_running::{Ensured, WhenCompleted, ensure_running};

/// Backups put back under an orchestration or closed; returns how many.
pub async fn resume_backups(
    cms: &PgPool,
    client: &Client,
    platform: &dyn Platform,
    settled_before: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let mut resumed = 0;
    for backup in backups::running_since(cms, settled_before).await? {
        resumed += super::counted(
            resume_backup(cms, client, platform, &backup).await,
            &backup.instance_name,
        );
    }
    Ok(resumed)
}

async fn resume_backup(
    cms: &PgPool,
    client: &Client,
    platform: &dyn Platform,
    backup: &BackupRecord,
) -> anyhow::Result<bool> {
    let status = client
        .get_orchestration_status(&backup.orchestration_id)
        .await?;
    let error = match status {
        OrchestrationStatus::Running { .. } => return Ok(false),
        OrchestrationStatus::NotFound if !backup.scheduled => {
            start_backup(client, backup).await?;
            return Ok(true);
        }
        // A scheduled backup is started by its schedule, as soon as the schedule runs
        // again; only a schedule that is gone leaves it to close here.
        OrchestrationStatus::NotFound => {
            let schedule = names::instance_ids::backup_schedule(backup.instance_id);
            let schedule_status = client.get_orchestration_status(&schedule).await?;
            if matches!(schedule_status, OrchestrationStatus::Running { .. }) {
                return Ok(false);
            }
            format!("its schedule {schedule} ended before taking it")
        }
        ended => format!(
            "its orchestration {} ended without recording the outcome ({ended:?})",
            backup.orchestration_id
        ),
    };
    Ok(backup_closing::close(cms, platform, backup, &error)
        .await?
        .is_some())
}

async fn start_backup(client: &Client, backup: &BackupRecord) -> anyhow::Result<()> {
    let input = BackupInput {
        backup_id: backup.id,
        record_id: backup.instance_id,
        name: InstanceName::parse(backup.instance_name.as_str())?,
        stanza: backup.stanza.clone(),
    };
    client
        .start_orchestration_typed(
            &backup.orchestration_id,
            names::orchestrations::BACKUP_INSTANCE,
            input,
        )
        .await?;
    tracing::warn!(backup = %backup.id, instance = %backup.instance_name, orchestration_id = %backup.orchestration_id, "started the orchestration of a backup left without one");
    Ok(())
}

/// Schedules put back under an orchestration or removed; returns how many.
pub async fn resume_schedules(
    cms: &PgPool,
    client: &Client,
    settled_before: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let mut resumed = 0;
    for scheduled in backups::schedules_settled(cms, settled_before).await? {
        resumed += super::counted(
            resume_schedule(cms, client, &scheduled).await,
            &scheduled.name,
        );
    }
    Ok(resumed)
}

async fn resume_schedule(
    cms: &PgPool,
    client: &Client,
    scheduled: &ScheduledInstance,
) -> anyhow::Result<bool> {
    let id = &scheduled.schedule.orchestration_id;
    if matches!(
        scheduled.state,
        InstanceState::Deleting | InstanceState::Deleted
    ) {
        // One still running is left to end on its own.
        let status = client.get_orchestration_status(id).await?;
        if matches!(status, OrchestrationStatus::Running { .. }) {
            return Ok(false);
        }
        backups::remove_schedule(cms, scheduled.schedule.instance_id).await?;
        return Ok(true);
    }
    let start = || start_schedule(client, scheduled);
    let Ensured::Started { replaced: status } =
        ensure_running(client, id, WhenCompleted::Replace, start).await?
    else {
        return Ok(false);
    };
    tracing::warn!(instance = %scheduled.name, orchestration_id = %id, previous = ?status, "started a new run of a backup schedule left without its orchestration");
    Ok(true)
}

async fn start_schedule(client: &Client, scheduled: &ScheduledInstance) -> anyhow::Result<()> {
    let name = InstanceName::parse(scheduled.name.as_str())?;
    let input = BackupScheduleInput {
        record_id: scheduled.schedule.instance_id,
        stanza: names::instance_ids::stanza(&name, scheduled.schedule.instance_id),
        name,
        settings: ScheduleSettings {
            every_secs: scheduled.schedule.every_secs.try_into()?,
            keep: scheduled.schedule.keep.try_into()?,
        },
        generation: uuid::Uuid::new_v4(),
        cycle: 0,
    };
    client
        .start_orchestration_typed(
            &scheduled.schedule.orchestration_id,
            names::orchestrations::BACKUP_SCHEDULE,
            input,
        )
        .await?;
    Ok(())
}
