//! Activity inputs and outputs.
//!
//! Like orchestration types they are recorded in history: no secret ever appears here.
//! Platform activities return what they saw, never a password; the CMS id and the name
//! travel together so every log line can carry the name.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::InstanceName;
use crate::platform::{BackupSet, Endpoint, InstanceSpec};
use toygres_cms::InstanceState;

/// The instance an activity is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRef {
    pub instance_id: Uuid,
    pub name: InstanceName,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveInstanceInput {
    pub spec: InstanceSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveInstanceOutput {
    pub instance_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployInstanceInput {
    pub instance_id: Uuid,
    pub spec: InstanceSpec,
}

/// Result of a platform side effect that is fenced by the CMS state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FencedOutcome {
    Done,
    /// The CMS record was not in the state the action needs; nothing was done.
    Skipped {
        state: InstanceState,
    },
    /// The platform can never do this as asked (e.g. a version that is not installed):
    /// a result rather than an error, so it is not retried.
    Refused {
        reason: String,
    },
}

/// A connection test that could be made. Failing to connect is an activity error (and
/// retried); an instance that no longer exists is a result, since no retry can help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TestConnectionOutput {
    Connected { latency_ms: u64 },
    InstanceGone,
}

/// One health probe. A failed probe is a result, not an activity error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub ok: bool,
    pub latency_ms: Option<u64>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRunningInput {
    pub instance_id: Uuid,
    pub endpoint: Endpoint,
    pub actor_orchestration_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkFailedInput {
    pub instance_id: Uuid,
    pub error: String,
}

/// What a state transition did (see `cms::instances::Transition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TransitionOutcome {
    Applied { from: InstanceState },
    AlreadyThere,
    NotAllowed { current: InstanceState },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHealthInput {
    pub instance_id: Uuid,
    /// Milliseconds since the Unix epoch, from the actor's `ctx.utc_now()`.
    pub checked_at_ms: u64,
    pub probe: ProbeResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHealthOutput {
    /// The record's state when the result was stored; the actor stops unless `running`.
    pub state: InstanceState,
}

/// What provision-instance is asked to do: deploy the reserved record's instance and prove
/// it accepts a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionInstanceInput {
    pub record_id: Uuid,
    pub spec: InstanceSpec,
    /// How long the server may take to accept connections.
    pub readiness_timeout_secs: u64,
}

/// What restore-instance is asked to do: provision-instance's work, from a backup instead
/// of an empty data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreInstanceInput {
    pub record_id: Uuid,
    pub spec: InstanceSpec,
    /// How long the restored server may take to replay its WAL and accept connections.
    pub readiness_timeout_secs: u64,
    pub restore: crate::types::v1_2::Restore,
}

/// What provision-instance found. Errors that a retry may cure are activity errors;
/// these are results, since no retry can change them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProvisionOutcome {
    /// The server runs and a login with the instance's own password worked.
    Ready { endpoint: Endpoint, login_ms: u64 },
    /// The record was not `creating` (a delete overtook the create); nothing was deployed.
    Skipped { state: InstanceState },
    /// The platform can never do this (e.g. a version that is not installed).
    Refused { reason: String },
    /// Deployed, but the server did not come up: it cannot start, vanished, or was not
    /// ready within the readiness timeout.
    NotReady { reason: String },
}

/// What destroy-instance is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyInstanceInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    /// A user's delete ends `deleted`; the cleanup after a failed create keeps the record
    /// `failed` with its error.
    pub mark_deleted: bool,
}

/// What check-health is asked to do: probe one instance and store the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckHealthInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    /// The actor's incarnation and the number of this check: together they key the stored
    /// row, so a re-run of the same check stores nothing twice.
    pub incarnation: String,
    pub cycle: u64,
}

/// What one pass of the history pruner removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub executions_deleted: u64,
    pub orchestrations_deleted: u64,
    pub health_checks_deleted: u64,
}

/// The pruner's settings for one pass (see `types::HistoryPrunerInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneHistoryInput {
    pub keep_executions: u32,
    pub orchestration_retention_secs: u64,
    pub health_retention_secs: u64,
}

/// How many warm data directories are ready after a refill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmPoolReport {
    pub ready: u32,
    pub made: u32,
}

/// A state change of the record, as an activity: cms-transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub to: InstanceState,
    /// Tell the instance's actor to stop watching (the server is about to go away).
    #[serde(default)]
    pub stop_watching: bool,
    /// Where the instance now accepts connections (moving to `running`).
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// Why (moving to `failed`).
    #[serde(default)]
    pub error: Option<String>,
}

/// What operate-instance does to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum PlatformOperation {
    Stop,
    Start,
    /// `token` names the restart, so a re-run restarts nothing twice.
    Restart {
        token: String,
    },
    /// Superuser access on or off (off restarts the server).
    SetSuperuserAccess {
        enabled: bool,
    },
}

impl PlatformOperation {
    /// The state the record is in while the operation runs (its fence).
    pub fn state(&self) -> InstanceState {
        match self {
            Self::Stop => InstanceState::Stopping,
            Self::Start => InstanceState::Starting,
            Self::Restart { .. } => InstanceState::Restarting,
            Self::SetSuperuserAccess { .. } => InstanceState::Configuring,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperateInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub operation: PlatformOperation,
    /// How long a (re)started server may take to accept connections.
    pub readiness_timeout_secs: u64,
}

/// What operate-instance found; like provision-instance, what no retry can change is a
/// result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OperateOutcome {
    /// Done; a (re)started server accepts a login at `endpoint`.
    Done {
        endpoint: Option<Endpoint>,
    },
    /// The record was not in the operation's state (a delete overtook it).
    Skipped {
        state: InstanceState,
    },
    Refused {
        reason: String,
    },
    NotReady {
        reason: String,
    },
}

/// What watch-instance is asked to do: make sure an actor watches the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub interval_secs: u64,
    /// The new actor's incarnation (the operation that starts it).
    pub incarnation: String,
}

/// What take-backup is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeBackupInput {
    pub backup_id: Uuid,
    pub record_id: Uuid,
    pub name: InstanceName,
    pub stanza: String,
}

/// What take-backup found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TakeBackupOutcome {
    Taken {
        set: BackupSet,
    },
    /// The instance left `running` (a delete, a stop) before the backup finished; it was
    /// stopped and nothing was recorded.
    Interrupted {
        state: InstanceState,
    },
    /// The platform cannot back this instance up.
    Refused {
        reason: String,
    },
}

/// How a backup ended, to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishBackupInput {
    pub backup_id: Uuid,
    pub set: Option<BackupSet>,
    pub error: Option<String>,
}

/// What cms-reserve-backup is asked to do (for a schedule's tick).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveBackupInput {
    pub record_id: Uuid,
    pub stanza: String,
    /// The backup's orchestration id, which names the reservation: a retry finds the
    /// same backup.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReserveBackupOutcome {
    Reserved {
        backup_id: Uuid,
    },
    /// Only a running instance is backed up.
    NotRunning {
        state: InstanceState,
    },
    /// Another backup of the instance runs.
    Busy {
        backup_id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireBackupsInput {
    pub stanza: String,
    pub keep: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveBackupInput {
    pub backup_id: Uuid,
}

/// One step of moving an instance's primary role to a standby (see `move-primary`), in a
/// switchover or a failover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PrimaryStep {
    /// Failover: makes sure the primary has failed (its process is gone, or it has not
    /// answered several times in a row), by the platform's own view.
    ConfirmFailed,
    /// Failover: kills the failed primary and every process of it.
    Fence,
    /// Failover: picks the standby whose WAL reaches furthest.
    ChooseMostAdvanced,
    /// Failover since 1.1.0: as `ChooseMostAdvanced`, and says how far the chosen standby
    /// is behind `primary_wal_position`, the failed primary's WAL at the last look that
    /// found it answering.
    ChooseMostAdvancedSince { primary_wal_position: Option<u64> },
    /// Picks the member to promote: `to` when given (it must be a standby), else the
    /// streaming standby with the least lag.
    Choose { to: Option<u8> },
    /// Checkpoints and cleanly stops the primary: writes stop here.
    StopPrimary,
    /// Promotes `member` once it has replayed past `caught_up_to`.
    Promote {
        member: u8,
        caught_up_to: Option<u64>,
    },
    /// Every other member follows the new primary; then its endpoint is logged into.
    Rejoin,
}

/// What rejoin-standbys did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RejoinStandbysOutcome {
    /// Every standby runs and follows the primary.
    Rejoined,
    /// The record was not `running`: nothing was done.
    Skipped { state: InstanceState },
    /// The platform cannot (no standbys there).
    Refused { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovePrimaryInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub step: PrimaryStep,
    /// How long the new primary may take to accept a login after the rejoin.
    pub readiness_timeout_secs: u64,
}

/// What a step of move-primary did; what no retry can change is a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MovePrimaryOutcome {
    /// The primary has failed; `evidence` says how it was seen.
    Confirmed {
        evidence: String,
    },
    /// The primary answers after all: nothing to fail over.
    PrimaryAnswers,
    Fenced,
    Chosen {
        from: u8,
        to: u8,
    },
    /// As `Chosen`, with how many bytes of WAL the chosen standby is behind the failed
    /// primary's last known position (when both are known).
    ChosenBehind {
        from: u8,
        to: u8,
        lag_bytes: Option<u64>,
    },
    /// The former primary's WAL ends here.
    Stopped {
        wal_ends_at: u64,
    },
    Promoted,
    Rejoined {
        endpoint: Endpoint,
    },
    /// The record was not `switching_over` (a delete overtook the switchover).
    Skipped {
        state: InstanceState,
    },
    Refused {
        reason: String,
    },
}

/// apply-settings: the tenant's parameters, all of them, onto the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplySettingsInput {
    pub record_id: Uuid,
    pub name: InstanceName,
    pub settings: toygres_domain::parameters::Settings,
    /// Names the restart a changed parameter may need, so a re-run restarts nothing twice.
    pub restart_token: String,
}

/// What apply-settings found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ApplySettingsOutcome {
    Applied {
        #[serde(flatten)]
        applied: crate::platform::AppliedSettings,
    },
    /// The record was not `configuring` (a delete overtook the change).
    Skipped {
        state: InstanceState,
    },
    Refused {
        reason: String,
    },
}

/// start-batch-children: these children of a batch, each under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartChildrenInput {
    pub children: Vec<crate::types::BatchChild>,
}

/// How starting one child went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChildStart {
    /// Its orchestration runs (started now, or found running or done).
    Started,
    /// Nothing left to do (a delete of a record already deleted).
    AlreadyDone,
    /// It cannot start (a create whose name another instance took meanwhile).
    Refused { error: String },
}

/// batch-progress: where these orchestrations are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressInput {
    pub orchestration_ids: Vec<String>,
}

/// How one child orchestration stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChildStatus {
    Running,
    Completed,
    Failed { error: String },
}
