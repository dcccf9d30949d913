//! How a backup record is shown.

use duroxide::Client;
use toygres_cms::backups::BackupRecord;
use toygres_domain::BackupState;
use toygres_domain::api::{BackupView, OrchestrationView};

use crate::api::instances::view::fill;

pub fn backup(record: &BackupRecord) -> BackupView {
    let restorable_until = match record.state {
        BackupState::Completed => restorable_until(record),
        BackupState::Running
        | BackupState::Failed
        | BackupState::Expired
        | BackupState::Deleted => None,
    };
    BackupView {
        id: record.id,
        instance: record.instance_name.clone(),
        state: record.state,
        scheduled: record.scheduled,
        label: record.label.clone(),
        size_bytes: record
            .size_bytes
            .and_then(|bytes| u64::try_from(bytes).ok()),
        started_at: record.started_at,
        finished_at: record.finished_at,
        restorable_until,
        error: record.error.clone(),
        orchestration: OrchestrationView {
            id: record.orchestration_id.clone(),
            status: None,
            step: None,
        },
    }
}

/// How far a point-in-time restore from a completed backup reaches: its instance's
/// deletion once deleted; while the instance lives, up to now (`None`), unless its WAL
/// archiving is stuck, when it reaches only as far as the archived WAL (never before the
/// backup's end).
fn restorable_until(record: &BackupRecord) -> Option<chrono::DateTime<chrono::Utc>> {
    record.instance_deleted_at.or_else(|| {
        let frozen = record.instance_wal_archived_until?;
        Some(record.finished_at.map_or(frozen, |end| frozen.max(end)))
    })
}

/// With its orchestration's status and step (one store read).
pub async fn with_status(record: &BackupRecord, client: &Client) -> BackupView {
    let mut view = backup(record);
    fill(&mut view.orchestration, client).await;
    view
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};
    use uuid::Uuid;

    use super::*;

    fn completed(finished_at: DateTime<Utc>) -> BackupRecord {
        BackupRecord {
            id: Uuid::new_v4(),
            instance_id: Uuid::new_v4(),
            instance_name: "shop".into(),
            stanza: "shop-1".into(),
            state: BackupState::Completed,
            scheduled: false,
            orchestration_id: "backup".into(),
            label: Some("20261207-120000F".into()),
            size_bytes: Some(1),
            repository_bytes: Some(1),
            started_at: finished_at - Duration::seconds(5),
            finished_at: Some(finished_at),
            error: None,
            instance_deleted_at: None,
            instance_wal_archived_until: None,
        }
    }

    #[test]
    fn restorable_until_now_unless_deleted_or_archiving_is_stuck() {
        let end = Utc::now() - Duration::hours(1);
        let live = completed(end);
        assert_eq!(backup(&live).restorable_until, None, "up to now");

        let deleted_at = end + Duration::minutes(30);
        let deleted = BackupRecord {
            instance_deleted_at: Some(deleted_at),
            ..live.clone()
        };
        assert_eq!(backup(&deleted).restorable_until, Some(deleted_at));

        let archived = end + Duration::minutes(10);
        let stuck = BackupRecord {
            instance_wal_archived_until: Some(archived),
            ..live.clone()
        };
        assert_eq!(backup(&stuck).restorable_until, Some(archived));

        let stuck_before_it = BackupRecord {
            instance_wal_archived_until: Some(DateTime::UNIX_EPOCH),
            ..live
        };
        assert_eq!(
            backup(&stuck_before_it).restorable_until,
            Some(end),
            "never before the backup's end"
        );
    }
}
