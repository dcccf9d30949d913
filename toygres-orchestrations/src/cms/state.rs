//! The lifecycle of an instance record.
//!
//! ```text
//! creating ──▶ running ──▶ deleting ──▶ deleted
//!     │                       ▲
//!     └──▶ failed ────────────┘      (creating may also go straight to deleting)
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    Creating,
    Running,
    Deleting,
    Deleted,
    Failed,
}

impl InstanceState {
    pub const ALL: [InstanceState; 5] = [
        Self::Creating,
        Self::Running,
        Self::Deleting,
        Self::Deleted,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Running => "running",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Failed => "failed",
        }
    }

    /// The states a record may move to `self` from.
    pub fn allowed_from(self) -> &'static [InstanceState] {
        match self {
            Self::Creating => &[],
            Self::Running | Self::Failed => &[Self::Creating],
            Self::Deleting => &[Self::Creating, Self::Running, Self::Failed],
            Self::Deleted => &[Self::Deleting],
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceState {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == value)
            .ok_or_else(|| format!("unknown instance state {value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_json() {
        for state in InstanceState::ALL {
            assert_eq!(state.as_str().parse::<InstanceState>().unwrap(), state);
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{state}\""));
            assert_eq!(serde_json::from_str::<InstanceState>(&json).unwrap(), state);
        }
    }

    #[test]
    fn deleted_is_terminal() {
        for state in InstanceState::ALL {
            assert!(!state.allowed_from().contains(&InstanceState::Deleted));
        }
    }
}
