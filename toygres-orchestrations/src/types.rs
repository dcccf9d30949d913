//! Orchestration inputs and outputs.
//!
//! These are recorded in duroxide history, so they hold no secret, and a field may only be
//! added with `#[serde(default)]`: histories written by older code must still decode.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::InstanceName;
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
