//! The backup sets in the repositories against the backup records: a set pgBackRest
//! finished for a backup the control plane had already judged failed (a cancel that came
//! too late, an attempt that outlived its orchestration) is recorded, and a set no live
//! record names (its backup was deleted while pgBackRest still wrote it, or its record is
//! gone) is removed, so no set stays in a repository where no route can reach it. Sets
//! taken by hand (no request annotation) are left alone.
//!
//! Listing a stanza runs pgBackRest, so this runs when the server starts and then hourly,
//! not on every pass.

use std::collections::HashMap;

use sqlx::PgPool;
use toygres_cms::BackupState;
use toygres_cms::backups::{self, BackupRecord};
use toygres_platform::{BackupSet, Platform};
use uuid::Uuid;

/// What a sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub recorded: usize,
    pub removed: usize,
}

/// Compares every stanza's sets with the records; a stanza that cannot be listed is
/// logged and skipped.
pub async fn sweep(cms: &PgPool, platform: &dyn Platform) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    if platform.backup_support().is_err() {
        return Ok(swept);
    }
    for stanza in backups::stanzas(cms).await? {
        if let Err(error) = sweep_stanza(cms, platform, &stanza, &mut swept).await {
            tracing::error!(
                stanza,
                "comparing a stanza's sets with the records: {error:#}"
            );
        }
    }
    Ok(swept)
}

async fn sweep_stanza(
    cms: &PgPool,
    platform: &dyn Platform,
    stanza: &str,
    swept: &mut Swept,
) -> anyhow::Result<()> {
    let sets = platform.backups(stanza).await?;
    let records: HashMap<Uuid, BackupRecord> = backups::of_stanza(cms, stanza)
        .await?
        .into_iter()
        .map(|record| (record.id, record))
        .collect();
    for set in &sets {
        let Some(request) = set.request.as_deref().and_then(|r| r.parse::<Uuid>().ok()) else {
            continue;
        };
        match records.get(&request).map(|record| record.state) {
            Some(BackupState::Running | BackupState::Completed) => {}
            Some(BackupState::Failed) => {
                if backups::recover(cms, request, set).await? {
                    swept.recorded += 1;
                    tracing::warn!(backup = %request, stanza, label = %set.label, "recorded a set pgBackRest finished for a backup judged failed");
                }
            }
            Some(BackupState::Deleted | BackupState::Expired) | None => {
                remove(platform, stanza, set, request).await?;
                swept.removed += 1;
            }
        }
    }
    Ok(())
}

async fn remove(
    platform: &dyn Platform,
    stanza: &str,
    set: &BackupSet,
    request: Uuid,
) -> anyhow::Result<()> {
    platform.remove_backup(stanza, &set.label).await?;
    tracing::warn!(backup = %request, stanza, label = %set.label, "removed a set no live backup record names");
    Ok(())
}
