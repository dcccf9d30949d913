//! The states things go through, as types: an instance's lifecycle, its health, and an
//! operation's (orchestration's) status. The CMS stores them as text, the API sends them
//! as JSON strings and the CLI reads them back, all through these enums, so a new state
//! is a compile error in every `match` that must handle it, and text nobody knows is an
//! error rather than a guess.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a text-backed enum: `as_str`, `ALL`, `Display` and `FromStr` from one table.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownText;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| UnknownText { what: $what, text: text.to_string() })
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownText;
            fn try_from(text: String) -> Result<Self, Self::Error> {
                text.parse()
            }
        }
    };
}

/// Text that names no known value (a corrupt row, a newer peer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {text:?}")]
pub struct UnknownText {
    pub what: &'static str,
    pub text: String,
}

text_enum! {
    /// The lifecycle of an instance.
    ///
    /// ```text
    /// creating ──▶ running ◀──────────────────────────┐
    ///    │          │  ▲  ├──▶ restarting ──▶ running  │
    ///    │          │  │  ├──▶ configuring ──▶ running │
    ///    │          │  │  ├──▶ switching_over ──▶ running
    ///    │          │  │  └──▶ failing_over ──▶ running (the primary failed)
    ///    │          │  └──────────────────┐            │
    ///    │          └──▶ stopping ──▶ stopped ──▶ starting
    ///    └──▶ failed (a create, stop, start, restart or configuration change that could
    ///                 not finish; start retries)
    ///
    /// every state but deleted ──▶ deleting ──▶ deleted
    /// ```
    InstanceState, "instance state" {
        Creating = "creating",
        Running = "running",
        Stopping = "stopping",
        Stopped = "stopped",
        Starting = "starting",
        Restarting = "restarting",
        /// Its logins change (superuser access on or off).
        Configuring = "configuring",
        /// Its primary role moves to a standby (a switchover).
        SwitchingOver = "switching_over",
        /// Its primary failed: a standby is being promoted (a failover).
        FailingOver = "failing_over",
        Deleting = "deleting",
        Deleted = "deleted",
        Failed = "failed",
    }
}

impl InstanceState {
    /// The states a record may move to `self` from.
    pub fn allowed_from(self) -> &'static [InstanceState] {
        use InstanceState::*;
        match self {
            Creating => &[],
            Running => &[
                Creating,
                Starting,
                Restarting,
                Configuring,
                SwitchingOver,
                FailingOver,
            ],
            Stopping => &[Running],
            Stopped => &[Stopping],
            Starting => &[Stopped, Failed],
            Restarting => &[Running],
            Configuring => &[Running],
            SwitchingOver | FailingOver => &[Running],
            Failed => &[
                Creating,
                Stopping,
                Starting,
                Restarting,
                Configuring,
                SwitchingOver,
                FailingOver,
            ],
            Deleting => &[
                Creating,
                Running,
                Stopping,
                Stopped,
                Starting,
                Restarting,
                Configuring,
                SwitchingOver,
                FailingOver,
                Failed,
            ],
            Deleted => &[Deleting],
        }
    }

    /// A state an operation passes through: another operation must wait for it to end.
    pub fn is_transitional(self) -> bool {
        use InstanceState::*;
        match self {
            Creating | Stopping | Starting | Restarting | Configuring | SwitchingOver
            | FailingOver | Deleting => true,
            Running | Stopped | Failed | Deleted => false,
        }
    }
}

text_enum! {
    /// Where a backup is.
    BackupState, "backup state" {
        Running = "running",
        Completed = "completed",
        /// It could not be taken (or was interrupted: a delete of the instance wins).
        Failed = "failed",
        /// Removed by its schedule's retention.
        Expired = "expired",
        /// Removed on request.
        Deleted = "deleted",
    }
}

text_enum! {
    /// What the last health check of an instance found.
    HealthStatus, "health status" {
        /// Not checked yet.
        Unknown = "unknown",
        Healthy = "healthy",
        Unhealthy = "unhealthy",
        /// Reachable, but heading for trouble: its WAL archiving fails or falls behind, or
        /// its disk is nearly full (the reason says which).
        Degraded = "degraded",
        /// The last check of a running instance is older than three intervals: nobody is
        /// watching it just now (its watch is being replaced, or falls behind). Shown, never
        /// stored.
        Stale = "stale",
    }
}

text_enum! {
    /// Where an operation (an orchestration) is.
    OperationStatus, "operation status" {
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        /// The store has no such orchestration (never started, or pruned after its
        /// retention).
        NotFound = "not_found",
        /// The store did not answer when asked.
        Unknown = "unknown",
    }
}

text_enum! {
    /// What an operation (an orchestration Toygres runs) does.
    OperationKind, "operation kind" {
        Create = "create",
        Delete = "delete",
        /// An instance's health watch.
        Actor = "actor",
        Stop = "stop",
        Start = "start",
        Restart = "restart",
        /// Turning an instance's superuser access on or off.
        SuperuserAccess = "superuser_access",
        /// A planned move of the primary role to a standby.
        Switchover = "switchover",
        /// A standby promoted because the primary failed.
        Failover = "failover",
        /// A change of an instance's PostgreSQL parameters.
        Configure = "configure",
        /// Many creates or deletes as one operation.
        Batch = "batch",
        Backup = "backup",
        BackupSchedule = "backup_schedule",
        DeleteBackup = "delete_backup",
        /// The history pruner and the warm pool.
        System = "system",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_text_and_json() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + Serialize,
            T: for<'de> Deserialize<'de>,
            <T as FromStr>::Err: fmt::Debug,
        {
            for value in all {
                assert_eq!(value.to_string().parse::<T>().unwrap(), *value);
                let json = serde_json::to_string(value).unwrap();
                assert_eq!(json, format!("\"{value}\""));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *value);
            }
        }
        check(InstanceState::ALL);
        check(HealthStatus::ALL);
        check(OperationStatus::ALL);
        check(BackupState::ALL);
        check(OperationKind::ALL);
    }

    #[test]
    fn unknown_text_is_an_error_not_a_guess() {
        let error = "archived".parse::<InstanceState>().unwrap_err();
        assert_eq!(error.to_string(), "unknown instance state \"archived\"");
        assert!(serde_json::from_str::<HealthStatus>("\"meh\"").is_err());
    }

    #[test]
    fn deleted_is_terminal() {
        for state in InstanceState::ALL {
            assert!(!state.allowed_from().contains(&InstanceState::Deleted));
        }
    }
}
