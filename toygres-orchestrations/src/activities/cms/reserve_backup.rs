//! Reserves the backup a schedule takes at one tick, under a key naming that tick: a re-run
//! finds the same backup. Refused (as a result) when the instance is not running or
//! another backup of it runs.

use std::sync::Arc;

use duroxide::ActivityContext;
use uuid::Uuid;

use crate::Dependencies;
use crate::activity_types::{ReserveBackupInput, ReserveBackupOutcome};
use toygres_cms::backups::{self, Refusal};

pub const NAME: &str = crate::names::activities::CMS_RESERVE_BACKUP;

pub async fn run(
    deps: Arc<Dependencies>,
    _ctx: ActivityContext,
    input: ReserveBackupInput,
) -> Result<ReserveBackupOutcome, String> {
    let reserved = backups::reserve(
        &deps.cms,
        Uuid::new_v4(),
        input.record_id,
        &input.stanza,
        &input.key,
        true,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(match reserved {
        Ok(record) => ReserveBackupOutcome::Reserved {
            backup_id: record.id,
        },
        Err(Refusal::NotRunning(state)) => ReserveBackupOutcome::NotRunning { state },
        Err(Refusal::Running { backup_id }) => ReserveBackupOutcome::Busy { backup_id },
    })
}
