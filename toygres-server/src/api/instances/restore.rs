//! What a create restores, checked before anything is created: `from_backup` (a completed
//! backup as it was taken, or replayed up to `at`) or `from_instance` (the newest completed
//! backup of that name before `at` replayed up to `at`, or without `at` the newest backup
//! and all the WAL archived since: the latest state there is). A moment in the future,
//! or before the first backup finished, is refused with the reason. The new instance runs
//! the source's PostgreSQL version and keeps its owner role and database (the data has
//! them); a source made before owner roles kept everything in the superuser's database, so
//! its restore has superuser access.

use chrono::Utc;
use toygres_cms::backups::{self, BackupRecord};
use toygres_cms::instances;
use toygres_domain::api::CreateInstanceRequest;
use toygres_domain::parameters::Settings;
use toygres_domain::{BackupState, ErrorCode, InstanceName, InstanceState, PostgresVersion};
use toygres_orchestrations::types::v1_2::Restore;
use toygres_platform::{Access, RestoreFrom, RestoreTarget};

use crate::api::{ApiError, AppState};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRestore, message)
}

/// What a restore takes from its source.
pub struct Source {
    pub restore: Restore,
    pub version: PostgresVersion,
    /// The source's owner and database; superuser access when the source had no owner.
    pub access: Access,
    /// The PostgreSQL parameters its tenant had asked for.
    pub settings: Settings,
}

/// The restore a create asks for (with what it implies), or `None`.
pub async fn source(
    app: &AppState,
    request: &CreateInstanceRequest,
) -> Result<Option<Source>, ApiError> {
    let backup = match (&request.from_backup, &request.from_instance, request.at) {
        (None, None, None) => return Ok(None),
        (None, None, Some(_)) => {
            return Err(invalid("`at` needs `from_instance` or `from_backup`"));
        }
        (Some(_), Some(_), _) => {
            return Err(invalid("give `from_backup` or `from_instance`, not both"));
        }
        _ if let Err(reason) = app.platform.backup_support() => {
            return Err(ApiError::new(ErrorCode::UnsupportedOnPlatform, reason));
        }
        (Some(id), None, at) => {
            let backup = backups::get(&app.cms, *id)
                .await?
                .ok_or_else(|| invalid(format!("there is no backup {id}")))?;
            if backup.state != BackupState::Completed {
                return Err(invalid(format!(
                    "backup {id} is {}: only a completed backup can be restored",
                    backup.state
                )));
            }
            check_moment(&backup, at)?;
            backup
        }
        (None, Some(name), at) => {
            let name = InstanceName::parse(name.as_str())
                .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))?;
            newest_before(app, &name, at).await?
        }
    };
    let source = instances::get(&app.cms, backup.instance_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("record {} vanished", backup.instance_id)))?;
    let version =
        PostgresVersion::parse(&source.postgres_version).map_err(|e| ApiError::internal(e.0))?;
    if let Some(asked) = &request.postgres_version
        && asked.as_text() != version.to_string()
    {
        return Err(invalid(format!(
            "the backup is of PostgreSQL {version}; a restore runs the same version"
        )));
    }
    if request.owner.is_some() || request.database.is_some() {
        return Err(invalid(
            "a restore keeps the owner role and database of the backup's instance: leave out `owner` and `database`",
        ));
    }
    let access = Access {
        superuser_access: source.owner_role.is_none() || request.superuser_access.unwrap_or(false),
        ..source.access()
    };
    let target = match (request.at, request.from_backup) {
        (Some(at), _) => RestoreTarget::Time { at },
        (None, Some(_)) => RestoreTarget::EndOfBackup,
        (None, None) => RestoreTarget::Latest,
    };
    let live_source = (source.state == InstanceState::Running)
        .then(|| InstanceName::parse(source.name.as_str()).ok())
        .flatten();
    let restore = Restore {
        from: RestoreFrom {
            stanza: backup.stanza.clone(),
            label: backup.label.clone().unwrap_or_default(),
            target,
        },
        live_source,
    };
    Ok(Some(Source {
        restore,
        version,
        access,
        settings: source.settings.0.clone(),
    }))
}

/// The newest completed backup of `name` that finished before `at` (or at all).
async fn newest_before(
    app: &AppState,
    name: &InstanceName,
    at: Option<chrono::DateTime<Utc>>,
) -> Result<BackupRecord, ApiError> {
    let all = backups::restorable(&app.cms, name.as_str()).await?;
    let Some(first) = all.first() else {
        return Err(invalid(format!(
            "instance \"{name}\" has no completed backup"
        )));
    };
    if let Some(at) = at {
        check_future(at)?;
        let first_finished = first.finished_at.unwrap_or(first.started_at);
        if at < first_finished {
            return Err(invalid(format!(
                "{at} is before the first backup of \"{name}\" finished ({first_finished}): nothing earlier can be restored"
            )));
        }
    }
    let chosen = all
        .iter()
        .rev()
        .find(|backup| at.is_none_or(|at| backup.finished_at.is_some_and(|done| done <= at)))
        .cloned()
        .expect("the first backup qualifies");
    if let Some(at) = at {
        check_not_after_delete(name.as_str(), at, chosen.instance_deleted_at)?;
    }
    Ok(chosen)
}

fn check_moment(backup: &BackupRecord, at: Option<chrono::DateTime<Utc>>) -> Result<(), ApiError> {
    let Some(at) = at else {
        return Ok(());
    };
    check_future(at)?;
    let finished = backup.finished_at.unwrap_or(backup.started_at);
    if at < finished {
        return Err(invalid(format!(
            "{at} is before backup {} finished ({finished})",
            backup.id
        )));
    }
    check_not_after_delete(&backup.instance_name, at, backup.instance_deleted_at)
}

/// WAL was archived until the source instance was deleted, and not after.
fn check_not_after_delete(
    name: &str,
    at: chrono::DateTime<Utc>,
    deleted_at: Option<chrono::DateTime<Utc>>,
) -> Result<(), ApiError> {
    match deleted_at {
        Some(until) if at > until => Err(invalid(format!(
            "\"{name}\" was deleted at {until}: nothing after that can be restored"
        ))),
        _ => Ok(()),
    }
}

fn check_future(at: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    if at > Utc::now() {
        return Err(invalid(format!("{at} is in the future")));
    }
    Ok(())
}
