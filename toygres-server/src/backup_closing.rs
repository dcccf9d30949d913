//! Closing a backup whose orchestration ended without recording how (an operator's
//! cancel, a failure for good, a schedule gone before taking it). Its row would otherwise
//! stay `running` and refuse every later backup, stop and restart of the instance.
//!
//! What the backup left is judged only once no pgBackRest of its stanza runs, proven by
//! the processes themselves and the stanza's lock (the one a cancel stopped goes when its
//! activity is abandoned; one still starting has not taken the lock; one that outlived its
//! attempt may still finish the set): then a set in the repository taken for it is recorded `completed`, so it can
//! be restored and deleted like any other, and without one the backup is `failed`.

use sqlx::PgPool;
use toygres_cms::BackupState;
use toygres_cms::backups::{self, BackupRecord};
use toygres_platform::Platform;

/// Records what the ended `backup` left, unless a pgBackRest of its stanza still runs
/// (`None`: look again later). `error` is why it ended, for a backup that left no set.
pub async fn close(
    cms: &PgPool,
    platform: &dyn Platform,
    backup: &BackupRecord,
    error: &str,
) -> anyhow::Result<Option<BackupState>> {
    if platform.backup_in_progress(&backup.stanza)? {
        return Ok(None);
    }
    let request = backup.id.to_string();
    let sets = match platform.backup_support() {
        Ok(()) => platform.backups(&backup.stanza).await?,
        Err(_) => Vec::new(),
    };
    if let Some(set) = sets
        .iter()
        .find(|set| set.request.as_deref() == Some(&request))
    {
        backups::complete(cms, backup.id, set).await?;
        tracing::warn!(backup = %backup.id, instance = %backup.instance_name, orchestration_id = %backup.orchestration_id, label = %set.label, "recorded the set pgBackRest finished for a backup whose orchestration ended");
        return Ok(Some(BackupState::Completed));
    }
    backups::fail(cms, backup.id, error).await?;
    tracing::warn!(backup = %backup.id, instance = %backup.instance_name, orchestration_id = %backup.orchestration_id, %error, "closed a backup left running");
    Ok(Some(BackupState::Failed))
}
