//! Activity inputs and outputs.
//!
//! Like orchestration types they are recorded in history: no secret ever appears here.
//! Platform activities return what they saw, never a password; the CMS id and the name
//! travel together so every log line can carry the name.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cms::InstanceState;
use crate::domain::InstanceName;
use crate::platform::{Endpoint, InstanceSpec};

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
