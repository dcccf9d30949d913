//! How a backup record is shown.

use duroxide::Client;
use toygres_cms::backups::BackupRecord;
use toygres_domain::BackupState;
use toygres_domain::api::{BackupView, OrchestrationView};

use crate::api::instances::view::fill;

pub fn backup(record: &BackupRecord) -> BackupView {
    let restorable_until = match record.state {
        BackupState::Completed => record.instance_deleted_at,
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

/// With its orchestration's status and step (one store read).
pub async fn with_status(record: &BackupRecord, client: &Client) -> BackupView {
    let mut view = backup(record);
    fill(&mut view.orchestration, client).await;
    view
}
