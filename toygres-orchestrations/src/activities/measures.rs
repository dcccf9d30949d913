//! What activities measure: the health-check latency, and how long creates, deletes and
//! backups take as a user sees them (from the request to the end).
//!
//! Handles are made once, by whoever installed a metrics recorder (the server), and
//! passed in with the other dependencies, so no activity reaches for a global; tests pass
//! handles that record nothing.

use metrics::Histogram;

/// Metric names, as Prometheus shows them.
pub mod names {
    pub const HEALTH_CHECK_LATENCY: &str = "toygres_health_check_latency_seconds";
    pub const CREATE_DURATION: &str = "toygres_create_duration_seconds";
    pub const DELETE_DURATION: &str = "toygres_delete_duration_seconds";
    pub const BACKUP_DURATION: &str = "toygres_backup_duration_seconds";
    /// Every histogram above, to describe and to give buckets.
    pub const ALL: &[(&str, &str)] = &[
        (
            HEALTH_CHECK_LATENCY,
            "How long a successful health probe (log in, SELECT 1) took",
        ),
        (
            CREATE_DURATION,
            "From a create's request to its instance running",
        ),
        (
            DELETE_DURATION,
            "From a delete's start to its instance deleted",
        ),
        (BACKUP_DURATION, "From a backup's request to its completion"),
    ];
}

#[derive(Clone)]
pub struct Measures {
    pub health_check_latency: Histogram,
    pub create_duration: Histogram,
    pub delete_duration: Histogram,
    pub backup_duration: Histogram,
}

impl Measures {
    /// Handles from the process's metrics recorder (install it first).
    pub fn registered() -> Self {
        Self {
            health_check_latency: metrics::histogram!(names::HEALTH_CHECK_LATENCY),
            create_duration: metrics::histogram!(names::CREATE_DURATION),
            delete_duration: metrics::histogram!(names::DELETE_DURATION),
            backup_duration: metrics::histogram!(names::BACKUP_DURATION),
        }
    }

    /// Handles that record nothing.
    pub fn none() -> Self {
        Self {
            health_check_latency: Histogram::noop(),
            create_duration: Histogram::noop(),
            delete_duration: Histogram::noop(),
            backup_duration: Histogram::noop(),
        }
    }
}

/// Seconds from `since` to now, for a histogram (zero if the clock went back).
pub fn seconds_since(since: chrono::DateTime<chrono::Utc>) -> f64 {
    (chrono::Utc::now() - since).num_milliseconds().max(0) as f64 / 1000.0
}
