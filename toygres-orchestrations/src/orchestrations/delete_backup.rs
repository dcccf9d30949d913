//! delete-backup 1.0.0: removes one backup (platform pool) and marks it `deleted`.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::tagged;
use crate::activity_types::RemoveBackupInput;
use crate::names::{activities, tags};
use crate::types::DeleteBackupInput;

pub async fn delete_backup(
    ctx: OrchestrationContext,
    input: DeleteBackupInput,
) -> Result<(), String> {
    ctx.set_custom_status("removing the backup");
    tagged::run(
        &ctx,
        tags::PLATFORM,
        activities::REMOVE_BACKUP,
        &RemoveBackupInput {
            backup_id: input.backup_id,
        },
        3,
        Duration::from_secs(5),
    )
    .await
}
