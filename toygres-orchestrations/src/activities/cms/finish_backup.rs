//! Records how a backup ended: `completed` with what the platform reports, or `failed`
//! with why. Only a `running` backup changes, so a re-run changes nothing.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activities::measures::seconds_since;
use crate::activity_types::FinishBackupInput;
use toygres_cms::backups;

pub const NAME: &str = crate::names::activities::CMS_FINISH_BACKUP;

pub async fn run(
    deps: Arc<Dependencies>,
    _ctx: ActivityContext,
    input: FinishBackupInput,
) -> Result<(), String> {
    match (&input.set, &input.error) {
        (Some(set), _) => {
            let requested = backups::get(&deps.cms, input.backup_id)
                .await
                .map_err(|e| e.to_string())?
                .map(|backup| backup.started_at);
            let completed = backups::complete(&deps.cms, input.backup_id, set)
                .await
                .map_err(|e| e.to_string())?;
            if let (true, Some(requested)) = (completed, requested) {
                deps.measures
                    .backup_duration
                    .record(seconds_since(requested));
            }
            Ok(())
        }
        (None, error) => {
            let error = error.as_deref().unwrap_or("the backup did not finish");
            backups::fail(&deps.cms, input.backup_id, error)
                .await
                .map_err(|e| e.to_string())
        }
    }
}
