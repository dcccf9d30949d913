//! Orchestration inputs and outputs.
//!
//! These are recorded in duroxide history, so they hold no secret, and a field may only be
//! added with `#[serde(default)]`: histories written by older code must still decode.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{HealthStatus, InstanceName};
use crate::platform::{Endpoint, InstanceSpec};

pub const DEFAULT_HEALTH_CHECK_INTERVAL_SECS: u64 = 30;
pub const DEFAULT_READINESS_TIMEOUT_SECS: u64 = 300;

fn default_health_check_interval_secs() -> u64 {
    DEFAULT_HEALTH_CHECK_INTERVAL_SECS
}

fn default_readiness_timeout_secs() -> u64 {
    DEFAULT_READINESS_TIMEOUT_SECS
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInstanceInput {
    pub spec: InstanceSpec,
    /// How often the instance actor probes the new instance.
    #[serde(default = "default_health_check_interval_secs")]
    pub health_check_interval_secs: u64,
    /// How long to wait for the server to accept connections before giving up.
    #[serde(default = "default_readiness_timeout_secs")]
    pub readiness_timeout_secs: u64,
}

impl CreateInstanceInput {
    pub fn new(spec: InstanceSpec) -> Self {
        Self {
            spec,
            health_check_interval_secs: DEFAULT_HEALTH_CHECK_INTERVAL_SECS,
            readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateInstanceOutput {
    pub instance_id: Uuid,
    pub name: InstanceName,
    pub endpoint: Endpoint,
    pub actor_orchestration_id: String,
    /// From the orchestration's start to the instance being `running`, by `ctx.utc_now()`.
    pub seconds: f64,
}

/// Identifies one CMS record; delete-instance acts on exactly this record, never on a newer
/// instance that reuses the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteInstanceInput {
    pub instance_id: Uuid,
    pub name: InstanceName,
    #[serde(default)]
    pub mode: DeleteMode,
}

/// What a delete-instance run is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// A user's delete: the record goes `deleting → deleted` and the actor is told to stop.
    #[default]
    Delete,
    /// create-instance failed: remove what it made but keep the record `failed`, with its
    /// error, until the user deletes it.
    CleanUpFailedCreate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteInstanceOutput {
    pub instance_id: Uuid,
    pub name: InstanceName,
    /// False when the record was already deleted and nothing had to be done.
    pub resources_deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceActorInput {
    pub instance_id: Uuid,
    pub name: InstanceName,
    pub interval_secs: u64,
    /// Counts `continue_as_new` generations, for logs.
    #[serde(default)]
    pub cycle: u64,
}

/// Why an instance actor stopped watching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceActorOutput {
    /// The InstanceDeleted event arrived.
    DeletedSignal { cycle: u64 },
    /// The CMS record left `running` (a delete whose signal came before the actor existed).
    NoLongerRunning { cycle: u64, state: String },
}

/// What the health sweep tells an instance's actor (1.2.0 and later) when the instance's
/// health changed; queued as `events::HEALTH_CHANGED`, so it is kept in the actor's
/// history: the changes are what history records of an instance's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthChanged {
    pub from: HealthStatus,
    pub to: HealthStatus,
    /// Why the probe failed, or why the instance is degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl std::fmt::Display for HealthChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "health {} -> {}", self.from, self.to)?;
        match &self.reason {
            Some(reason) => write!(f, ": {reason}"),
            None => Ok(()),
        }
    }
}

/// What failure detection tells an instance's actor (1.2.0 and later) when standbys are
/// down while the primary answers; queued as `events::STANDBYS_DOWN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandbysDown {
    /// The members seen down, `<name>-<n>`.
    pub members: Vec<String>,
}

/// Inputs and outputs that changed shape in version 1.1.0.
pub mod v1_1 {
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    use super::{default_health_check_interval_secs, default_readiness_timeout_secs};
    use crate::domain::InstanceName;
    use crate::platform::{Endpoint, InstanceSpec};

    /// create-instance 1.1.0 starts from a record the API already reserved, so it never
    /// reserves the name a second time.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CreateInstanceInput {
        pub record_id: Uuid,
        pub spec: InstanceSpec,
        #[serde(default = "default_health_check_interval_secs")]
        pub health_check_interval_secs: u64,
        /// How long the platform may take to accept connections before the create fails.
        #[serde(default = "default_readiness_timeout_secs")]
        pub readiness_timeout_secs: u64,
    }

    /// instance-actor 1.1.0's input: 1.0.0's plus `incarnation`, so a 1.0.0 actor's
    /// `continue_as_new` input decodes as this one.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct InstanceActorInput {
        pub instance_id: Uuid,
        pub name: InstanceName,
        pub interval_secs: u64,
        /// Counts checks, for logs.
        #[serde(default)]
        pub cycle: u64,
        /// Tells this actor apart from an earlier one under the same id (a replaced actor
        /// counts its checks from 0 again): with the check's number it keys each health
        /// row. Empty for an actor that started on 1.0.0.
        #[serde(default)]
        pub incarnation: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CreateInstanceOutput {
        pub record_id: Uuid,
        pub name: InstanceName,
        pub endpoint: Endpoint,
        pub actor_orchestration_id: String,
    }

    /// failover-instance 1.1.0's input: an operation, and where the failed primary's WAL
    /// reached at the last look that found it answering (none when failure detection did
    /// not see it, e.g. a failover resumed by reconciliation). 1.0.0's input decodes as it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct FailoverInput {
        #[serde(flatten)]
        pub operation: super::OperationInput,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub primary_wal_position: Option<u64>,
    }

    /// failover-instance 1.1.0's output: 1.0.0's, and the lag at failover.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(tag = "outcome", rename_all = "snake_case")]
    pub enum FailoverOutput {
        /// `to_member` is the primary now; `evidence` says how the failure was seen.
        /// `lag_bytes`: how far the promoted standby's WAL was behind the failed primary's
        /// at the last look that found it answering (at most 500 ms before the failure;
        /// what it wrote after that look is not counted). Commits in that WAL that no
        /// synchronous standby confirmed are lost.
        Promoted {
            record_id: Uuid,
            name: InstanceName,
            from_member: String,
            to_member: String,
            evidence: String,
            lag_bytes: Option<u64>,
        },
        /// The primary answered when the failure was confirmed: it stays the primary.
        PrimaryAnswered { record_id: Uuid, name: InstanceName },
    }
}

/// Input of the history pruner (a system orchestration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPrunerInput {
    /// Pause between two passes.
    pub interval_secs: u64,
    /// Executions kept per orchestration, the current one included.
    pub keep_executions: u32,
    /// Finished orchestrations older than this are deleted.
    pub orchestration_retention_secs: u64,
    /// Health checks older than this are deleted.
    pub health_retention_secs: u64,
    /// Counts `continue_as_new` generations, for logs.
    #[serde(default)]
    pub cycle: u64,
}

/// Input of the warm pool (a system orchestration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmPoolInput {
    /// Data directories to keep ready.
    pub size: u32,
    /// The longest pause between two refills when no claim wakes the pool.
    pub interval_secs: u64,
    #[serde(default)]
    pub cycle: u64,
}

/// Input of stop-instance, start-instance and restart-instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    /// How long a (re)started server may take to accept connections.
    #[serde(default = "default_readiness_timeout_secs")]
    pub readiness_timeout_secs: u64,
    /// How often the actor a start or restart sets watching probes the instance.
    #[serde(default = "default_health_check_interval_secs")]
    pub health_check_interval_secs: u64,
}

/// Input of set-superuser-access: an operation, and which way it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuperuserAccessInput {
    #[serde(flatten)]
    pub operation: OperationInput,
    pub enabled: bool,
}

/// Input of configure-instance: an operation, and every parameter the tenant asked for
/// (what is not in it goes back to its default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigureInput {
    #[serde(flatten)]
    pub operation: OperationInput,
    pub settings: toygres_domain::parameters::Settings,
}

/// Output of configure-instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigureOutput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub state: crate::domain::InstanceState,
    /// The parameters whose change needed a restart (none: a reload sufficed).
    #[serde(default)]
    pub restarted_for: Vec<String>,
    /// Parameters the server would not take, with its reason.
    #[serde(default)]
    pub not_applied: Vec<String>,
}

/// Input of batch: many creates or many deletes as one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchInput {
    pub children: Vec<BatchChild>,
    /// How many children may be unfinished at once: the rest wait their turn, so a
    /// large batch never fills the platform's queue ahead of everybody else's work.
    pub parallelism: u32,
}

/// One instance of a batch: what to do to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BatchChild {
    /// Reserve a record (with these labels) and start create-instance on it.
    Create {
        /// The create's id, made by the API (`create-<name>-<uuid>`).
        orchestration_id: String,
        spec: InstanceSpec,
        #[serde(default, skip_serializing_if = "toygres_domain::Labels::is_empty")]
        labels: toygres_domain::Labels,
        health_check_interval_secs: u64,
        readiness_timeout_secs: u64,
    },
    /// Start (or find) the delete of this record, as `DELETE /instances/{name}` does.
    Delete {
        /// The record's delete id (always the same for one record).
        orchestration_id: String,
        record_id: Uuid,
        name: InstanceName,
    },
}

impl BatchChild {
    pub fn name(&self) -> &InstanceName {
        match self {
            Self::Create { spec, .. } => &spec.name,
            Self::Delete { name, .. } => name,
        }
    }

    /// The id its orchestration runs under.
    pub fn orchestration_id(&self) -> &str {
        match self {
            Self::Create {
                orchestration_id, ..
            }
            | Self::Delete {
                orchestration_id, ..
            } => orchestration_id,
        }
    }
}

/// Output of batch: how each child ended (an API shape too: `operations show` prints it).
pub use toygres_domain::api::{BatchFailure, BatchOutput};

/// Input of switchover-instance: an operation, and the member to move the primary to
/// (none: the standby with the least lag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchoverInput {
    #[serde(flatten)]
    pub operation: OperationInput,
    #[serde(default)]
    pub to: Option<u8>,
}

/// Output of switchover-instance: which member the primary moved from and to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchoverOutput {
    pub record_id: Uuid,
    pub name: InstanceName,
    /// `<name>-<n>`.
    pub from_member: String,
    pub to_member: String,
}

/// Output of failover-instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FailoverOutput {
    /// `to_member` is the primary now; `evidence` says how the failure was seen.
    Promoted {
        record_id: Uuid,
        name: InstanceName,
        from_member: String,
        to_member: String,
        evidence: String,
    },
    /// The primary answered when the failure was confirmed: it stays the primary.
    PrimaryAnswered { record_id: Uuid, name: InstanceName },
}

/// Output of stop-instance, start-instance, restart-instance and set-superuser-access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationOutput {
    pub record_id: Uuid,
    pub name: InstanceName,
    /// Where the instance ended (`stopped` or `running`).
    pub state: crate::domain::InstanceState,
}

/// Inputs that changed shape in version 1.2.0.
pub mod v1_2 {
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    use super::{default_health_check_interval_secs, default_readiness_timeout_secs};
    use crate::domain::InstanceName;
    use crate::platform::{InstanceSpec, RestoreFrom};

    /// create-instance 1.2.0's input: 1.1.0's plus `restore`, so a new instance may start
    /// from a backup instead of empty. Its output is 1.1.0's.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CreateInstanceInput {
        pub record_id: Uuid,
        pub spec: InstanceSpec,
        #[serde(default = "default_health_check_interval_secs")]
        pub health_check_interval_secs: u64,
        /// How long the platform may take to accept connections before the create fails.
        #[serde(default = "default_readiness_timeout_secs")]
        pub readiness_timeout_secs: u64,
        /// Restore a backup (to a moment, when given) instead of starting empty.
        #[serde(default)]
        pub restore: Option<Restore>,
    }

    /// Where a restored instance's data comes from.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Restore {
        pub from: RestoreFrom,
        /// The source instance, when it still runs: its WAL up to now is archived before a
        /// point-in-time restore, so any moment until the request can be reached.
        #[serde(default)]
        pub live_source: Option<InstanceName>,
    }
}

/// Input of backup-instance: the backup record the API (or a schedule) reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupInput {
    pub backup_id: Uuid,
    pub record_id: Uuid,
    pub name: InstanceName,
    pub stanza: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupOutput {
    pub backup_id: Uuid,
    pub state: crate::domain::BackupState,
    pub label: Option<String>,
}

/// How often a schedule backs an instance up, and how many backups it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSettings {
    pub every_secs: u64,
    pub keep: u32,
}

/// Input of backup-schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupScheduleInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub stanza: String,
    pub settings: ScheduleSettings,
    /// Names this run of the schedule (a fresh one each time it is turned on), so that its
    /// backups' orchestration ids never repeat those of an earlier run.
    pub generation: Uuid,
    /// Counts ticks (each names its backup).
    #[serde(default)]
    pub cycle: u64,
}

/// Why a backup schedule ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupScheduleOutput {
    /// Turned off (`backup schedule NAME --off`).
    Off,
    /// The instance is being deleted or is gone.
    InstanceGone,
}

/// Input of delete-backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteBackupInput {
    pub backup_id: Uuid,
}
