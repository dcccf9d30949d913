//! The JSON shapes of the HTTP API (`/api/v1`), shared by the server and the CLI so the two
//! cannot drift apart. No shape carries a password except [`ConnectionView`], the one
//! response whose purpose is to hand it to the instance's owner.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    BackupState, ErrorCode, HealthStatus, InstanceState, MemberRole, MemberState, OperationKind,
    OperationStatus,
};

/// Every route but `/healthz` lives under this prefix.
pub const PREFIX: &str = "/api/v1";

/// `POST /api/v1/instances`. Omitted fields take the server's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInstanceRequest {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_version: Option<VersionField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_gb: Option<u32>,
    /// Restore this backup instead of starting empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_backup: Option<Uuid>,
    /// Restore the newest backup of this instance (live or deleted)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_instance: Option<String>,
    /// ...replayed up to this moment (point-in-time recovery; also with `from_backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// The role the application logs in as (default `app`; a restore keeps the source's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The application database, owned by `owner` (default `app`; a restore keeps the
    /// source's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Also hand out the superuser's login (default: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superuser_access: Option<bool>,
    /// Streaming standbys beside the primary, 0–4 (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standbys: Option<u32>,
    /// Commits wait until one standby has them (needs standbys; default no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<bool>,
    /// Labels, key → value (Kubernetes' rules).
    #[serde(default, skip_serializing_if = "crate::Labels::is_empty")]
    pub labels: crate::Labels,
}

/// A PostgreSQL major version as `"16"` or `16`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VersionField {
    Number(u32),
    Text(String),
}

impl VersionField {
    pub fn as_text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// An instance as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: Uuid,
    pub name: String,
    pub state: InstanceState,
    pub platform: String,
    pub postgres_version: String,
    pub storage_gb: u32,
    /// The role its application logs in as, and its database (`postgres` and `postgres`
    /// for an instance made before owner roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Whether its tenant may also log in as the superuser.
    #[serde(default)]
    pub superuser_access: bool,
    /// The standbys it keeps beside its primary, and whether commits wait for one.
    #[serde(default)]
    pub standbys: u8,
    #[serde(default)]
    pub synchronous: bool,
    /// Its servers, primary first, as they answer now (single-instance reads of an
    /// instance with standbys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberView>,
    pub endpoint: Option<EndpointView>,
    pub health: HealthView,
    pub last_error: Option<String>,
    pub create_orchestration: OrchestrationView,
    pub delete_orchestration: Option<OrchestrationView>,
    /// The stop, start or restart that last acted on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OrchestrationView>,
    pub actor_orchestration_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub labels: crate::Labels,
}

/// `POST /instances/{name}/labels`: labels to add or change, and keys to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsRequest {
    #[serde(default, skip_serializing_if = "crate::Labels::is_empty")]
    pub set: crate::Labels,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// `POST /instances/{name}/switchover`: the member to move the primary to (default: the
/// streaming standby with the least lag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchoverRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// One server of an instance with standbys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// `<instance>-<n>`.
    pub name: String,
    pub role: MemberRole,
    pub host: String,
    pub port: u16,
    pub state: MemberState,
    /// Bytes of WAL it has yet to replay (a standby that answers).
    pub lag_bytes: Option<u64>,
    pub timeline: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    pub status: HealthStatus,
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why a running instance is `degraded` or `unhealthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrchestrationView {
    pub id: String,
    /// Present on single-instance reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OperationStatus>,
    /// What a running orchestration is doing now (e.g. `deploying`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// `GET /api/v1/instances`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceList {
    pub instances: Vec<InstanceView>,
}

/// `202 Accepted` for create and delete: the work continues in `orchestration_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub instance: InstanceView,
    pub orchestration_id: String,
}

/// A backup as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupView {
    pub id: Uuid,
    pub instance: String,
    pub state: BackupState,
    /// Taken by a schedule rather than on request.
    pub scheduled: bool,
    /// The platform's name for it.
    pub label: Option<String>,
    pub size_bytes: Option<u64>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// A point-in-time restore from it reaches moments from `finished_at` until this one;
    /// `null` for a completed backup of a live instance: until now.
    pub restorable_until: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub orchestration: OrchestrationView,
}

/// `GET /api/v1/backups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupList {
    pub backups: Vec<BackupView>,
}

/// `202 Accepted` for a backup, or for its deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupAccepted {
    pub backup: BackupView,
    pub orchestration_id: String,
}

/// `PUT /api/v1/instances/{name}/backup-schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    pub every_secs: u64,
    pub keep: u32,
}

/// An instance's backup schedule (`schedule: null`: none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub instance: String,
    pub schedule: Option<ScheduleRequest>,
    pub orchestration_id: Option<String>,
}

/// `GET /api/v1/instances/{name}/connection[?login=superuser]`: the only response with a
/// password in it (sent with `Cache-Control: no-store`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub name: String,
    /// A libpq URI; with TLS it asks for `sslmode=verify-full` and needs `sslrootcert=`
    /// naming a file that holds `ca_certificate`.
    pub connection_string: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub database: String,
    /// The CA certificate (PEM) that signed the server's; absent for a server without TLS
    /// (one started before Toygres gave instances certificates, until its next restart).
    #[serde(default)]
    pub ca_certificate: Option<String>,
}

/// `POST /api/v1/instances/{name}/superuser-access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuperuserAccessRequest {
    pub enabled: bool,
}

/// `GET /api/v1/ca-certificate`: the CA that signs every instance's server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCertificateView {
    /// PEM.
    pub certificate: String,
}

impl std::fmt::Debug for ConnectionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionView")
            .field("name", &self.name)
            .field("connection_string", &"<redacted>")
            .finish()
    }
}

/// Every error response: a stable machine-readable `error` code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub message: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthzView {
    /// `ok` or `degraded`.
    pub status: String,
    /// `reachable` or `unreachable`.
    pub database: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_accepted_as_text_or_number() {
        let text: CreateInstanceRequest =
            serde_json::from_str(r#"{"name":"a","postgres_version":"16"}"#).unwrap();
        let number: CreateInstanceRequest =
            serde_json::from_str(r#"{"name":"a","postgres_version":16}"#).unwrap();
        assert_eq!(text.postgres_version.unwrap().as_text(), "16");
        assert_eq!(number.postgres_version.unwrap().as_text(), "16");
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<CreateInstanceRequest>(r#"{"name":"a","size":1}"#).is_err());
    }

    #[test]
    fn connection_debug_hides_the_secret() {
        let view = ConnectionView {
            name: "a".into(),
            connection_string: "postgresql://u:hunter2@h/d".into(),
            user: "u".into(),
            database: "d".into(),
            ca_certificate: None,
        };
        assert!(!format!("{view:?}").contains("hunter2"));
    }
}

/// One operation (an orchestration Toygres runs), as `GET /api/v1/operations` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationSummary {
    pub id: String,
    pub kind: OperationKind,
    /// The instance it acts on (none for system operations).
    pub instance: Option<String>,
    pub status: OperationStatus,
    /// What a running one is doing now (e.g. `deploying`), or its last step.
    pub step: Option<String>,
    pub orchestration: String,
    pub version: Option<String>,
    /// The operation that started it, for sub-orchestrations.
    pub parent: Option<String>,
    pub started_at: DateTime<Utc>,
    /// When it ended (`None` while it runs).
    pub finished_at: Option<DateTime<Utc>>,
    /// From its start to its end, or to now while it runs.
    pub duration_secs: f64,
}

/// `GET /api/v1/operations`: newest first; `next_cursor` fetches the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationList {
    pub operations: Vec<OperationSummary>,
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/operations/{id}`: one operation with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationDetail {
    #[serde(flatten)]
    pub summary: OperationSummary,
    /// What it was started with (no secret is ever in it).
    pub input: Option<serde_json::Value>,
    /// What it returned, when it completed.
    pub output: Option<serde_json::Value>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Its executions, oldest first (an eternal one continues as new; old ones may be
    /// pruned).
    pub executions: Vec<ExecutionView>,
    /// Operations it started as sub-orchestrations.
    pub children: Vec<OperationSummary>,
}

/// One execution of an operation and its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionView {
    pub execution_id: u64,
    pub status: String,
    pub timeline: Vec<TimelineEntry>,
}

/// One event of an operation's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub event_id: u64,
    /// What happened, duroxide's event type in snake_case: `orchestration_started`,
    /// `activity_scheduled`, `activity_completed`, `activity_failed`, `timer_created`,
    /// `timer_fired`, `sub_orchestration_scheduled`, `orchestration_chained`,
    /// `external_subscribed_persistent`, `external_event_persistent`,
    /// `orchestration_continued_as_new`, `orchestration_completed`, ...
    pub kind: String,
    /// The activity, orchestration or event queue it is about, when there is one.
    pub name: Option<String>,
    /// The event this one completes (a result's scheduling event).
    pub completes: Option<u64>,
    /// Its payload: an input, a result, an error (JSON where it is JSON).
    pub detail: Option<serde_json::Value>,
}

/// `POST /api/v1/operations/{id}/cancel` and `/retry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationAction {
    /// The operation acted on, or for a retry the new one.
    pub id: String,
    /// What happens next, in a sentence.
    pub message: String,
}

/// `GET /api/v1/instances/{name}/events`: the state transitions of the instance (its
/// newest record, live or deleted), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceEvents {
    pub instance: String,
    pub events: Vec<InstanceEventView>,
    /// Its changes of health (between `healthy`, `unhealthy` and `degraded`), oldest
    /// first.
    #[serde(default)]
    pub health: Vec<HealthEventView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthEventView {
    pub at: DateTime<Utc>,
    pub from: HealthStatus,
    pub to: HealthStatus,
    /// Why, for a change to `degraded` or `unhealthy`.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceEventView {
    pub at: DateTime<Utc>,
    pub from: Option<InstanceState>,
    pub to: InstanceState,
    pub message: Option<String>,
    /// The operation that made the transition.
    pub operation: Option<String>,
}

/// `GET /api/v1/instances/{name}/health[?limit=N]`: its latest health checks, newest
/// first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthHistory {
    pub instance: String,
    pub status: HealthStatus,
    pub checks: Vec<HealthCheckView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckView {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub latency_ms: Option<u32>,
    /// Why it failed, or why the instance it reached is degraded.
    pub error: Option<String>,
}

/// `POST /api/v1/instances/{name}/config`: parameters to set (`name` → value, as in
/// `postgresql.conf`) and parameters to put back to their defaults, in one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigChangeRequest {
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub set: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reset: Vec<String>,
}

/// `GET /api/v1/instances/{name}/config`: the parameters that differ from PostgreSQL's
/// defaults, and those the tenant asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigView {
    pub instance: String,
    pub parameters: Vec<ParameterView>,
}

/// One parameter as the instance's server has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterView {
    pub name: String,
    /// The value in use, with its unit (`4096kB`).
    pub value: String,
    /// Where the value in use came from: `default`, `configuration file`, `toygres`
    /// (the control plane's own), ...
    pub source: String,
    /// What the tenant asked for, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<String>,
    /// A change takes effect only after a restart.
    pub needs_restart: bool,
    /// Changed, waiting for a restart.
    pub pending_restart: bool,
}

/// `POST /api/v1/batches/create`: `count` instances made from `template`, named
/// `{template.name}-1` .. `{template.name}-{count}`, as one batch operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchCreateRequest {
    pub count: u32,
    pub template: CreateInstanceRequest,
}

/// `POST /api/v1/batches/delete`: the live instances a selector picks, or those named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDeleteRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// A batch accepted: its operation (none when there was nothing to do) and the instances
/// it acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAccepted {
    pub orchestration_id: Option<String>,
    pub instances: Vec<String>,
}

/// What a batch operation returns: how each of its instances ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutput {
    pub total: u32,
    pub succeeded: Vec<crate::InstanceName>,
    pub failed: Vec<BatchFailure>,
}

/// An instance of a batch that did not make it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFailure {
    pub name: crate::InstanceName,
    pub error: String,
}
