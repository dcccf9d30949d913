//! What a server of an instance with standbys is, and how it is doing.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Primary,
    Standby,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// The primary, answering.
    Running,
    /// A standby that answers and receives WAL from the primary.
    Streaming,
    /// A standby that answers but receives nothing (its primary is away, or it catches up
    /// from the archive).
    Disconnected,
    /// Its server does not run.
    Stopped,
    /// Its server runs but does not answer.
    Unreachable,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Standby => "standby",
        }
    }
}

impl MemberState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Streaming => "streaming",
            Self::Disconnected => "disconnected",
            Self::Stopped => "stopped",
            Self::Unreachable => "unreachable",
        }
    }
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for MemberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_as_written_in_json() {
        for role in [MemberRole::Primary, MemberRole::Standby] {
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        for state in [
            MemberState::Running,
            MemberState::Streaming,
            MemberState::Disconnected,
            MemberState::Stopped,
            MemberState::Unreachable,
        ] {
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{state}\"")
            );
        }
    }
}
