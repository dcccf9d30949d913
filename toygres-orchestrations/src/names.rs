//! Every durable name Toygres writes into duroxide history, in one place.
//!
//! Names are recorded in history and matched on replay, so renaming one breaks every
//! instance that is still running. They follow `{crate}::{type}::{name}`.

/// Orchestration names.
pub mod orchestrations {
    pub const CREATE_INSTANCE: &str = "toygres-orchestrations::orchestration::create-instance";
    pub const DELETE_INSTANCE: &str = "toygres-orchestrations::orchestration::delete-instance";
    pub const INSTANCE_ACTOR: &str = "toygres-orchestrations::orchestration::instance-actor";

    pub const ALL: &[&str] = &[CREATE_INSTANCE, DELETE_INSTANCE, INSTANCE_ACTOR];
}

/// Activity names: platform activities first, then CMS activities.
pub mod activities {
    pub const DEPLOY_INSTANCE: &str = "toygres-orchestrations::activity::deploy-instance";
    pub const GET_INSTANCE_STATUS: &str = "toygres-orchestrations::activity::get-instance-status";
    pub const GET_INSTANCE_ENDPOINT: &str =
        "toygres-orchestrations::activity::get-instance-endpoint";
    pub const TEST_CONNECTION: &str = "toygres-orchestrations::activity::test-connection";
    pub const DELETE_INSTANCE_RESOURCES: &str =
        "toygres-orchestrations::activity::delete-instance-resources";
    pub const PROBE_HEALTH: &str = "toygres-orchestrations::activity::probe-health";
    pub const SIGNAL_INSTANCE_DELETED: &str =
        "toygres-orchestrations::activity::signal-instance-deleted";

    pub const CMS_RESERVE_INSTANCE: &str = "toygres-orchestrations::activity::cms-reserve-instance";
    pub const CMS_MARK_RUNNING: &str = "toygres-orchestrations::activity::cms-mark-running";
    pub const CMS_MARK_FAILED: &str = "toygres-orchestrations::activity::cms-mark-failed";
    pub const CMS_MARK_DELETING: &str = "toygres-orchestrations::activity::cms-mark-deleting";
    pub const CMS_MARK_DELETED: &str = "toygres-orchestrations::activity::cms-mark-deleted";
    pub const CMS_RECORD_HEALTH: &str = "toygres-orchestrations::activity::cms-record-health";

    pub const ALL: &[&str] = &[
        DEPLOY_INSTANCE,
        GET_INSTANCE_STATUS,
        GET_INSTANCE_ENDPOINT,
        TEST_CONNECTION,
        DELETE_INSTANCE_RESOURCES,
        PROBE_HEALTH,
        SIGNAL_INSTANCE_DELETED,
        CMS_RESERVE_INSTANCE,
        CMS_MARK_RUNNING,
        CMS_MARK_FAILED,
        CMS_MARK_DELETING,
        CMS_MARK_DELETED,
        CMS_RECORD_HEALTH,
    ];
}

/// Event queues, delivered with `Client::enqueue_event` and read with `ctx.dequeue_event`.
///
/// Queues (not `raise_event`) because a queued message is buffered until it is read and
/// survives `continue_as_new`: a signal can never fall between two waits.
pub mod events {
    pub const INSTANCE_DELETED: &str = "toygres-orchestrations::event::instance-deleted";

    pub const ALL: &[&str] = &[INSTANCE_DELETED];
}

/// Orchestration versions, registered explicitly so a new one can sit beside them.
pub mod versions {
    pub const V1_0_0: &str = "1.0.0";
}

/// Instance ids of orchestrations that Toygres starts itself, derived from the CMS id so
/// that a re-run of the starting step targets the same instance.
pub mod instance_ids {
    use uuid::Uuid;

    /// The health-watching actor of one instance (one per CMS row, never reused).
    pub fn instance_actor(instance_id: Uuid) -> String {
        format!("toygres-instance-actor-{instance_id}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn assert_format(name: &str, kind: &str) {
        let parts: Vec<&str> = name.split("::").collect();
        assert_eq!(
            parts.len(),
            3,
            "{name} is not {{crate}}::{{type}}::{{name}}"
        );
        assert_eq!(parts[0], "toygres-orchestrations", "{name}");
        assert_eq!(parts[1], kind, "{name}");
        assert!(
            !parts[2].is_empty()
                && parts[2]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}: the last part is kebab-case"
        );
    }

    #[test]
    fn every_name_has_the_format_of_its_kind() {
        orchestrations::ALL
            .iter()
            .for_each(|n| assert_format(n, "orchestration"));
        activities::ALL
            .iter()
            .for_each(|n| assert_format(n, "activity"));
        events::ALL.iter().for_each(|n| assert_format(n, "event"));
    }

    #[test]
    fn every_name_is_unique() {
        let all: Vec<&str> = orchestrations::ALL
            .iter()
            .chain(activities::ALL)
            .chain(events::ALL)
            .copied()
            .collect();
        let unique: HashSet<&str> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn every_name_constant_is_listed() {
        let source = include_str!("names.rs");
        let declared = source
            .lines()
            .filter(|l| l.trim_start().starts_with("pub const") && l.contains(": &str"))
            .count();
        let listed = orchestrations::ALL.len() + activities::ALL.len() + events::ALL.len();
        // versions::V1_0_0 is the one `&str` constant that is not a name.
        assert_eq!(
            declared,
            listed + 1,
            "a name constant is missing from its ALL list"
        );
    }
}
