//! The day-2 operations on an instance (stop, start, restart, superuser access on or off,
//! switchover, parameters):
//! what each moves the record to, which orchestration runs it, and how to start that
//! orchestration. Shared by the API, which starts them, and reconciliation, which starts
//! one a crash left unstarted.

use duroxide::Client;
use toygres_cms::instances::InstanceRecord;
use toygres_domain::{InstanceName, InstanceState};
use toygres_orchestrations::names;
use toygres_orchestrations::names::instance_ids::{OperationId, RecordOperation};
use toygres_orchestrations::types::{
    ConfigureInput, DEFAULT_READINESS_TIMEOUT_SECS, OperationInput, SuperuserAccessInput,
    SwitchoverInput,
};

/// The operations, and what each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceOperation {
    Stop,
    Start,
    Restart,
    /// Superuser access on or off: which way is on the record (`superuser_access_wanted`).
    SuperuserAccess,
    /// The primary moves to a standby: which one is on the record (`switchover_to`).
    Switchover,
    /// The primary failed: a standby takes over (started by failure detection).
    Failover,
    /// The tenant's PostgreSQL parameters: which ones are on the record (`settings`).
    Configure,
}

impl InstanceOperation {
    /// What it is called in its orchestration's id.
    pub fn record_operation(self) -> RecordOperation {
        match self {
            Self::Stop => RecordOperation::Stop,
            Self::Start => RecordOperation::Start,
            Self::Restart => RecordOperation::Restart,
            Self::SuperuserAccess => RecordOperation::SuperuserAccess,
            Self::Switchover => RecordOperation::Switchover,
            Self::Failover => RecordOperation::Failover,
            Self::Configure => RecordOperation::Configure,
        }
    }

    /// What the operation is called (in its orchestration's id, in logs).
    pub fn kind(self) -> &'static str {
        self.record_operation().as_str()
    }

    /// The state the record is in while the operation runs.
    pub fn state(self) -> InstanceState {
        match self {
            Self::Stop => InstanceState::Stopping,
            Self::Start => InstanceState::Starting,
            Self::Restart => InstanceState::Restarting,
            Self::SuperuserAccess => InstanceState::Configuring,
            Self::Switchover => InstanceState::SwitchingOver,
            Self::Failover => InstanceState::FailingOver,
            Self::Configure => InstanceState::Configuring,
        }
    }

    /// The operation `record` is in the middle of, if any: the one its operation's id
    /// names, when that id is of an operation of the record's state (two operations share
    /// `configuring`).
    pub fn running_on(record: &InstanceRecord) -> Option<Self> {
        let all = [
            Self::Stop,
            Self::Start,
            Self::Restart,
            Self::SuperuserAccess,
            Self::Switchover,
            Self::Failover,
            Self::Configure,
        ];
        let named = record
            .operation_orchestration_id
            .as_deref()
            .and_then(|id| id.parse::<OperationId>().ok())
            .and_then(|id| match id {
                OperationId::OnRecord { operation, .. } => Some(operation),
                _ => None,
            });
        all.into_iter().find(|operation| {
            operation.state() == record.state
                && named.is_none_or(|named| named == operation.record_operation())
        })
    }

    pub fn orchestration(self) -> &'static str {
        match self {
            Self::Stop => names::orchestrations::STOP_INSTANCE,
            Self::Start => names::orchestrations::START_INSTANCE,
            Self::Restart => names::orchestrations::RESTART_INSTANCE,
            Self::SuperuserAccess => names::orchestrations::SET_SUPERUSER_ACCESS,
            Self::Switchover => names::orchestrations::SWITCHOVER_INSTANCE,
            Self::Failover => names::orchestrations::FAILOVER_INSTANCE,
            Self::Configure => names::orchestrations::CONFIGURE_INSTANCE,
        }
    }

    pub fn requirement(self) -> &'static str {
        match self {
            Self::Stop => "only a running instance can be stopped",
            Self::Start => "only a stopped (or failed) instance can be started",
            Self::Restart => "only a running instance can be restarted",
            Self::SuperuserAccess => "superuser access changes only on a running instance",
            Self::Switchover => "only a running instance can switch over",
            Self::Failover => "only a running instance fails over",
            Self::Configure => "parameters change only on a running instance",
        }
    }

    /// Starts this operation on `record` as orchestration `id`.
    pub async fn start(
        self,
        client: &Client,
        record: &InstanceRecord,
        id: &str,
        health_check_interval_secs: u64,
    ) -> anyhow::Result<()> {
        let operation = operation_input(record, health_check_interval_secs)?;
        match self {
            Self::SuperuserAccess => {
                let enabled = record.superuser_access_wanted.ok_or_else(|| {
                    anyhow::anyhow!("record {} names no superuser access to set", record.id)
                })?;
                let input = SuperuserAccessInput { operation, enabled };
                client
                    .start_orchestration_typed(id, self.orchestration(), input)
                    .await?;
            }
            Self::Configure => {
                let input = ConfigureInput {
                    operation,
                    settings: record.settings.0.clone(),
                };
                client
                    .start_orchestration_typed(id, self.orchestration(), input)
                    .await?;
            }
            Self::Switchover => {
                let to = record.switchover_to.and_then(|to| u8::try_from(to).ok());
                let input = SwitchoverInput { operation, to };
                client
                    .start_orchestration_typed(id, self.orchestration(), input)
                    .await?;
            }
            _ => {
                client
                    .start_orchestration_typed(id, self.orchestration(), operation)
                    .await?;
            }
        }
        Ok(())
    }
}

/// What every operation on `record` starts with.
pub fn operation_input(
    record: &InstanceRecord,
    health_check_interval_secs: u64,
) -> anyhow::Result<OperationInput> {
    Ok(OperationInput {
        record_id: record.id,
        name: InstanceName::parse(record.name.as_str())?,
        readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
        health_check_interval_secs,
    })
}
