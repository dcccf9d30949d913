//! Keeps the newest backups of a stanza (a schedule's `--keep`), removing older ones and
//! the WAL only they needed, then marks the removed ones `expired` in the CMS. Running it
//! again removes nothing more.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::ExpireBackupsInput;
use toygres_cms::{BackupState, backups};

pub const NAME: &str = crate::names::activities::EXPIRE_BACKUPS;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: ExpireBackupsInput,
) -> Result<u64, String> {
    deps.platform
        .expire_backups(&input.stanza, input.keep)
        .await
        .map_err(|e| format!("expiring backups of {}: {e}", input.stanza))?;
    let present: Vec<String> = deps
        .platform
        .backups(&input.stanza)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|set| set.label)
        .collect();
    let expired = backups::mark_gone(&deps.cms, &input.stanza, &present, BackupState::Expired)
        .await
        .map_err(|e| e.to_string())?;
    if expired > 0 {
        ctx.trace_info(format!("{}: {expired} backups expired", input.stanza));
    }
    Ok(expired)
}
