//! Every durable name Toygres writes into duroxide history, in one place.
//!
//! Names are recorded in history and matched on replay, so renaming one breaks every
//! instance that is still running. They follow `{crate}::{type}::{name}`.

/// Orchestration names.
pub mod orchestrations {
    pub const CREATE_INSTANCE: &str = "toygres-orchestrations::orchestration::create-instance";
    pub const DELETE_INSTANCE: &str = "toygres-orchestrations::orchestration::delete-instance";
    pub const INSTANCE_ACTOR: &str = "toygres-orchestrations::orchestration::instance-actor";
    /// System singleton: prunes old executions, terminal orchestrations and health rows.
    pub const HISTORY_PRUNER: &str = "toygres-orchestrations::orchestration::history-pruner";
    /// System singleton on the local platform: keeps pre-initialised data directories ready.
    pub const WARM_POOL: &str = "toygres-orchestrations::orchestration::warm-pool";

    pub const ALL: &[&str] = &[
        CREATE_INSTANCE,
        DELETE_INSTANCE,
        INSTANCE_ACTOR,
        HISTORY_PRUNER,
        WARM_POOL,
    ];
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

    // Since create/delete/actor 1.1.0: fewer, larger steps.
    pub const PROVISION_INSTANCE: &str = "toygres-orchestrations::activity::provision-instance";
    pub const DESTROY_INSTANCE: &str = "toygres-orchestrations::activity::destroy-instance";
    pub const CHECK_HEALTH: &str = "toygres-orchestrations::activity::check-health";
    pub const CMS_BEGIN_DELETE: &str = "toygres-orchestrations::activity::cms-begin-delete";

    // System orchestrations.
    pub const PRUNE_HISTORY: &str = "toygres-orchestrations::activity::prune-history";
    pub const FILL_WARM_POOL: &str = "toygres-orchestrations::activity::fill-warm-pool";

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
        PROVISION_INSTANCE,
        DESTROY_INSTANCE,
        CHECK_HEALTH,
        CMS_BEGIN_DELETE,
        PRUNE_HISTORY,
        FILL_WARM_POOL,
    ];
}

/// Activity tags: each names a worker pool, so long platform work (deploys, deletes) and
/// health probes never wait behind each other or behind short CMS steps (untagged).
pub mod tags {
    pub const PLATFORM: &str = "toygres-orchestrations::tag::platform";
    pub const HEALTH: &str = "toygres-orchestrations::tag::health";

    pub const ALL: &[&str] = &[PLATFORM, HEALTH];
}

/// Event queues, delivered with `Client::enqueue_event` and read with `ctx.dequeue_event`.
///
/// Queues (not `raise_event`) because a queued message is buffered until it is read and
/// survives `continue_as_new`: a signal can never fall between two waits.
pub mod events {
    pub const INSTANCE_DELETED: &str = "toygres-orchestrations::event::instance-deleted";
    /// A deploy took a data directory from the warm pool: refill it now.
    pub const WARM_POOL_CLAIMED: &str = "toygres-orchestrations::event::warm-pool-claimed";

    pub const ALL: &[&str] = &[INSTANCE_DELETED, WARM_POOL_CLAIMED];
}

/// Orchestration versions, registered explicitly so a new one can sit beside them.
pub mod versions {
    use super::orchestrations::*;

    pub const V1_0_0: &str = "1.0.0";
    pub const V1_1_0: &str = "1.1.0";

    /// Every registered version of every orchestration, oldest first: the last is what
    /// new instances start on. The registry test holds `registry.rs` to this table.
    pub const REGISTERED: &[(&str, &[&str])] = &[
        (CREATE_INSTANCE, &[V1_0_0, V1_1_0]),
        (DELETE_INSTANCE, &[V1_0_0, V1_1_0]),
        (INSTANCE_ACTOR, &[V1_0_0, V1_1_0]),
        (HISTORY_PRUNER, &[V1_0_0]),
        (WARM_POOL, &[V1_0_0]),
    ];
}

/// Instance ids of the orchestrations Toygres starts, in one place so that the API,
/// reconciliation and tests all agree on them.
pub mod instance_ids {
    use uuid::Uuid;

    use crate::domain::InstanceName;

    /// A create: unique per request (`attempt` is a fresh random value), so two creates
    /// of a name never share an orchestration.
    pub fn create_instance(name: &InstanceName, attempt: Uuid) -> String {
        format!("create-{name}-{}", attempt.simple())
    }

    /// The delete of one CMS record; derived from it, so repeating a DELETE finds the
    /// delete already under way.
    pub fn delete_instance(record_id: Uuid) -> String {
        format!("delete-{record_id}")
    }

    /// The health-watching actor of one instance (one per CMS row, never reused).
    pub fn instance_actor(instance_id: Uuid) -> String {
        format!("toygres-instance-actor-{instance_id}")
    }

    /// The one history pruner of a store.
    pub const HISTORY_PRUNER: &str = "toygres-system-history-pruner";
    /// The one warm pool of a store (local platform).
    pub const WARM_POOL: &str = "toygres-system-warm-pool";
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
        tags::ALL.iter().for_each(|n| assert_format(n, "tag"));
    }

    #[test]
    fn every_name_is_unique() {
        let all: Vec<&str> = orchestrations::ALL
            .iter()
            .chain(activities::ALL)
            .chain(events::ALL)
            .chain(tags::ALL)
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
        let listed =
            orchestrations::ALL.len() + activities::ALL.len() + events::ALL.len() + tags::ALL.len();
        // The versions and the system instance ids are `&str` constants that are not names.
        assert_eq!(
            declared,
            listed + 2 + 2,
            "a name constant is missing from its ALL list"
        );
    }
}
