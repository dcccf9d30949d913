//! How a CMS record is shown through the API (no password: the CMS has none).

use duroxide::{Client, OrchestrationStatus};
use toygres_cms::instances::InstanceRecord;
use toygres_domain::api::{EndpointView, HealthView, InstanceView, MemberView, OrchestrationView};
use toygres_domain::{HealthStatus, InstanceState, OperationStatus};
use toygres_platform::Member;

/// A running instance's health is `stale` once its last check is older than this many
/// health-check intervals.
const STALE_AFTER_INTERVALS: u32 = 3;

/// The record as the API shows it; `health_interval` is how often running instances are
/// checked.
pub fn instance(record: &InstanceRecord, health_interval: std::time::Duration) -> InstanceView {
    let endpoint = match (&record.endpoint_host, record.endpoint_port) {
        (Some(host), Some(port)) => Some(EndpointView {
            host: host.clone(),
            port: u16::try_from(port).unwrap_or_default(),
            user: record.endpoint_user.clone().unwrap_or_default(),
            database: record.endpoint_database.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    InstanceView {
        id: record.id,
        name: record.name.clone(),
        state: record.state,
        platform: record.platform.clone(),
        postgres_version: record.postgres_version.clone(),
        storage_gb: u32::try_from(record.storage_gb).unwrap_or_default(),
        owner: record
            .owner_role
            .clone()
            .or_else(|| record.endpoint_user.clone()),
        database: record
            .database_name
            .clone()
            .or_else(|| record.endpoint_database.clone()),
        superuser_access: record.superuser_access,
        labels: record.labels.0.clone(),
        standbys: record.standbys().count(),
        synchronous: record.standbys().synchronous(),
        members: Vec::new(),
        endpoint,
        health: health_view(record, health_interval),
        last_error: record.last_error.clone(),
        create_orchestration: OrchestrationView {
            id: record.create_orchestration_id.clone(),
            status: None,
            step: None,
        },
        delete_orchestration: record
            .delete_orchestration_id
            .as_ref()
            .map(|id| OrchestrationView {
                id: id.clone(),
                status: None,
                step: None,
            }),
        operation: record
            .operation_orchestration_id
            .as_ref()
            .map(|id| OrchestrationView {
                id: id.clone(),
                status: None,
                step: None,
            }),
        actor_orchestration_id: record.actor_orchestration_id.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
        deleted_at: record.deleted_at,
    }
}

/// A member as the platform sees it.
pub fn member(member: Member) -> MemberView {
    MemberView {
        name: member.name,
        role: member.role,
        host: member.host,
        port: member.port,
        state: member.state,
        lag_bytes: member.lag_bytes,
        timeline: member.timeline,
    }
}

fn health_view(record: &InstanceRecord, interval: std::time::Duration) -> HealthView {
    let status = health(record, interval, chrono::Utc::now());
    let reason = match status {
        HealthStatus::Degraded | HealthStatus::Unhealthy => record.health_reason.clone(),
        HealthStatus::Unknown | HealthStatus::Healthy | HealthStatus::Stale => None,
    };
    HealthView {
        status,
        last_checked_at: record.last_health_check_at,
        reason,
    }
}

/// The health to show: the last check's, unless a running instance has gone unchecked
/// for [`STALE_AFTER_INTERVALS`] intervals. Only running instances are checked: any
/// other's is `unknown`, never the health it had before it stopped.
fn health(
    record: &InstanceRecord,
    interval: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> HealthStatus {
    if record.state != InstanceState::Running {
        return HealthStatus::Unknown;
    }
    let stale_after = interval * STALE_AFTER_INTERVALS;
    let stale = record.health_status != HealthStatus::Unknown
        && record
            .last_health_check_at
            .is_some_and(|checked| (now - checked).to_std().is_ok_and(|age| age > stale_after));
    match stale {
        true => HealthStatus::Stale,
        false => record.health_status,
    }
}

/// Fills in the orchestrations' statuses and current steps (one duroxide query each).
pub async fn with_orchestration_statuses(mut view: InstanceView, client: &Client) -> InstanceView {
    fill(&mut view.create_orchestration, client).await;
    if let Some(delete) = view.delete_orchestration.as_mut() {
        fill(delete, client).await;
    }
    if let Some(operation) = view.operation.as_mut() {
        fill(operation, client).await;
    }
    view
}

/// Fills in one orchestration's status and current step.
pub async fn fill(view: &mut OrchestrationView, client: &Client) {
    let (status, step) = match client.get_orchestration_status(&view.id).await {
        Ok(OrchestrationStatus::NotFound) => (OperationStatus::NotFound, None),
        Ok(OrchestrationStatus::Running { custom_status, .. }) => {
            (OperationStatus::Running, custom_status)
        }
        Ok(OrchestrationStatus::Completed { .. }) => (OperationStatus::Completed, None),
        Ok(OrchestrationStatus::Failed { .. }) => (OperationStatus::Failed, None),
        Err(error) => {
            tracing::warn!(orchestration_id = %view.id, %error, "reading an orchestration's status");
            (OperationStatus::Unknown, None)
        }
    };
    view.status = Some(status);
    view.step = step;
}
