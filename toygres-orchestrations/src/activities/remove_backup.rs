//! Removes one backup from the platform and marks it `deleted`; a backup already gone, or
//! one that never got to the platform (a failed backup has no label), is simply marked.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::RemoveBackupInput;
use toygres_cms::{BackupState, backups};

pub const NAME: &str = crate::names::activities::REMOVE_BACKUP;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: RemoveBackupInput,
) -> Result<(), String> {
    let backup = backups::get(&deps.cms, input.backup_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("backup {} is not in the metadata store", input.backup_id))?;
    let Some(label) = &backup.label else {
        backups::mark_deleted(&deps.cms, input.backup_id)
            .await
            .map_err(|e| e.to_string())?;
        ctx.trace_info(format!(
            "backup {} of {} deleted (it held no data)",
            input.backup_id, backup.instance_name
        ));
        return Ok(());
    };
    deps.platform
        .remove_backup(&backup.stanza, label)
        .await
        .map_err(|e| format!("removing backup {}: {e}", input.backup_id))?;
    let present: Vec<String> = deps
        .platform
        .backups(&backup.stanza)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|set| set.label)
        .collect();
    backups::mark_gone(&deps.cms, &backup.stanza, &present, BackupState::Deleted)
        .await
        .map_err(|e| e.to_string())?;
    ctx.trace_info(format!(
        "backup {} of {} deleted",
        input.backup_id, backup.instance_name
    ));
    Ok(())
}
