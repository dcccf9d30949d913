//! Every durable name Toygres writes into duroxide history, in one place.
//!
//! Names are recorded in history and matched on replay, so renaming one breaks every
//! instance that is still running. They follow `{crate}::{type}::{name}`. Each list is
//! declared once, through `name_list!`, which also builds its `ALL`: a name cannot be
//! declared and left out of the checks.

/// Declares name constants and `ALL`, the list of every one of them.
macro_rules! name_list {
    ($($(#[$meta:meta])* $name:ident = $value:literal;)*) => {
        $($(#[$meta])* pub const $name: &str = $value;)*

        /// Every name of this kind, in declaration order.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

/// Orchestration names.
pub mod orchestrations {
    name_list! {
        CREATE_INSTANCE = "toygres-orchestrations::orchestration::create-instance";
        DELETE_INSTANCE = "toygres-orchestrations::orchestration::delete-instance";
        INSTANCE_ACTOR = "toygres-orchestrations::orchestration::instance-actor";
        /// System singleton: prunes old executions, terminal orchestrations and health rows.
        HISTORY_PRUNER = "toygres-orchestrations::orchestration::history-pruner";
        /// System singleton on the local platform: keeps pre-initialised data directories ready.
        WARM_POOL = "toygres-orchestrations::orchestration::warm-pool";
        STOP_INSTANCE = "toygres-orchestrations::orchestration::stop-instance";
        START_INSTANCE = "toygres-orchestrations::orchestration::start-instance";
        RESTART_INSTANCE = "toygres-orchestrations::orchestration::restart-instance";
        BACKUP_INSTANCE = "toygres-orchestrations::orchestration::backup-instance";
        /// One per scheduled instance: a backup every interval, older ones expired.
        BACKUP_SCHEDULE = "toygres-orchestrations::orchestration::backup-schedule";
        DELETE_BACKUP = "toygres-orchestrations::orchestration::delete-backup";
        /// Turns an instance's superuser access on or off.
        SET_SUPERUSER_ACCESS = "toygres-orchestrations::orchestration::set-superuser-access";
    }
}

/// Activity names.
pub mod activities {
    name_list! {
        // Steps of create/delete/actor 1.0.0, still registered for instances on it.
        DEPLOY_INSTANCE = "toygres-orchestrations::activity::deploy-instance";
        GET_INSTANCE_STATUS = "toygres-orchestrations::activity::get-instance-status";
        GET_INSTANCE_ENDPOINT = "toygres-orchestrations::activity::get-instance-endpoint";
        TEST_CONNECTION = "toygres-orchestrations::activity::test-connection";
        DELETE_INSTANCE_RESOURCES = "toygres-orchestrations::activity::delete-instance-resources";
        PROBE_HEALTH = "toygres-orchestrations::activity::probe-health";
        SIGNAL_INSTANCE_DELETED = "toygres-orchestrations::activity::signal-instance-deleted";
        CMS_RESERVE_INSTANCE = "toygres-orchestrations::activity::cms-reserve-instance";
        CMS_MARK_DELETING = "toygres-orchestrations::activity::cms-mark-deleting";
        CMS_MARK_DELETED = "toygres-orchestrations::activity::cms-mark-deleted";
        CMS_RECORD_HEALTH = "toygres-orchestrations::activity::cms-record-health";
        // Used by 1.0.0 and 1.1.0.
        CMS_MARK_RUNNING = "toygres-orchestrations::activity::cms-mark-running";
        CMS_MARK_FAILED = "toygres-orchestrations::activity::cms-mark-failed";
        // Since 1.1.0: fewer, larger steps.
        PROVISION_INSTANCE = "toygres-orchestrations::activity::provision-instance";
        /// Since create-instance 1.2.0.
        RESTORE_INSTANCE = "toygres-orchestrations::activity::restore-instance";
        DESTROY_INSTANCE = "toygres-orchestrations::activity::destroy-instance";
        CHECK_HEALTH = "toygres-orchestrations::activity::check-health";
        CMS_BEGIN_DELETE = "toygres-orchestrations::activity::cms-begin-delete";
        // System orchestrations.
        PRUNE_HISTORY = "toygres-orchestrations::activity::prune-history";
        FILL_WARM_POOL = "toygres-orchestrations::activity::fill-warm-pool";
        // Day-2 operations.
        CMS_TRANSITION = "toygres-orchestrations::activity::cms-transition";
        OPERATE_INSTANCE = "toygres-orchestrations::activity::operate-instance";
        WATCH_INSTANCE = "toygres-orchestrations::activity::watch-instance";
        // Backups.
        TAKE_BACKUP = "toygres-orchestrations::activity::take-backup";
        CMS_FINISH_BACKUP = "toygres-orchestrations::activity::cms-finish-backup";
        CMS_RESERVE_BACKUP = "toygres-orchestrations::activity::cms-reserve-backup";
        EXPIRE_BACKUPS = "toygres-orchestrations::activity::expire-backups";
        REMOVE_BACKUP = "toygres-orchestrations::activity::remove-backup";
    }
}

/// Activity tags: each names a worker pool, so long platform work (deploys, deletes) and
/// health probes never wait behind each other or behind short CMS steps (untagged).
pub mod tags {
    name_list! {
        PLATFORM = "toygres-orchestrations::tag::platform";
        HEALTH = "toygres-orchestrations::tag::health";
    }
}

/// Event queues, delivered with `Client::enqueue_event` and read with `ctx.dequeue_event`.
///
/// Queues (not `raise_event`) because a queued message is buffered until it is read and
/// survives `continue_as_new`: a signal can never fall between two waits.
pub mod events {
    name_list! {
        /// Stop watching: the instance is being deleted, stopped or restarted. (Named for
        /// its first use; histories record it, so the name stays.)
        INSTANCE_DELETED = "toygres-orchestrations::event::instance-deleted";
        /// A deploy took a data directory from the warm pool: refill it now.
        WARM_POOL_CLAIMED = "toygres-orchestrations::event::warm-pool-claimed";
        /// New settings for a backup schedule, or `null`: the schedule ends.
        BACKUP_SCHEDULE_CHANGED = "toygres-orchestrations::event::backup-schedule-changed";
    }
}

/// Orchestration versions, registered explicitly so a new one can sit beside them.
pub mod versions {
    use super::orchestrations::*;

    pub const V1_0_0: &str = "1.0.0";
    pub const V1_1_0: &str = "1.1.0";
    pub const V1_2_0: &str = "1.2.0";

    /// Every registered version of every orchestration, oldest first: the last is what
    /// new instances start on. The registry test holds `registry.rs` to this table.
    pub const REGISTERED: &[(&str, &[&str])] = &[
        (CREATE_INSTANCE, &[V1_0_0, V1_1_0, V1_2_0]),
        (DELETE_INSTANCE, &[V1_0_0, V1_1_0]),
        (INSTANCE_ACTOR, &[V1_0_0, V1_1_0]),
        (HISTORY_PRUNER, &[V1_0_0]),
        (WARM_POOL, &[V1_0_0]),
        (STOP_INSTANCE, &[V1_0_0]),
        (START_INSTANCE, &[V1_0_0]),
        (RESTART_INSTANCE, &[V1_0_0]),
        (SET_SUPERUSER_ACCESS, &[V1_0_0]),
        (BACKUP_INSTANCE, &[V1_0_0]),
        (BACKUP_SCHEDULE, &[V1_0_0]),
        (DELETE_BACKUP, &[V1_0_0]),
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

    const INSTANCE_ACTOR_PREFIX: &str = "toygres-instance-actor-";

    /// The health-watching actor of one instance (one per CMS row, never reused).
    pub fn instance_actor(record_id: Uuid) -> String {
        format!("{INSTANCE_ACTOR_PREFIX}{record_id}")
    }

    /// A stop, start or restart of one record (`kind` is `stop`, `start` or `restart`):
    /// unique per request.
    pub fn operation(kind: &str, record_id: Uuid, attempt: Uuid) -> String {
        format!("{kind}-{record_id}-{}", attempt.simple())
    }

    /// A backup of one record asked for by a user: unique per request.
    pub fn backup(record_id: Uuid, attempt: Uuid) -> String {
        format!("backup-{record_id}-{}", attempt.simple())
    }

    /// The backup a schedule takes at tick `cycle` of its run `generation`: also the key
    /// of its reservation, so a retried tick finds the same backup.
    pub fn scheduled_backup(record_id: Uuid, generation: Uuid, cycle: u64) -> String {
        format!(
            "scheduled-backup-{record_id}-{}-{cycle}",
            generation.simple()
        )
    }

    /// The backup schedule of one record (at most one).
    pub fn backup_schedule(record_id: Uuid) -> String {
        format!("backup-schedule-{record_id}")
    }

    /// The removal of one backup.
    pub fn delete_backup(backup_id: Uuid) -> String {
        format!("delete-backup-{backup_id}")
    }

    /// Whether `id` is the id of an instance actor.
    pub fn is_instance_actor(id: &str) -> bool {
        id.starts_with(INSTANCE_ACTOR_PREFIX)
    }

    /// The pgBackRest stanza (the backup series) of one record: per record, not per name,
    /// since a name is reused after a delete and backups outlive their instance.
    pub fn stanza(name: &InstanceName, record_id: Uuid) -> String {
        format!("{name}-{}", record_id.simple())
    }

    /// The instance a stanza made by [`stanza`] belongs to.
    pub fn name_of_stanza(stanza: &str) -> Option<InstanceName> {
        let (name, record) = stanza.rsplit_once('-')?;
        Uuid::try_parse(record).ok()?;
        InstanceName::parse(name).ok()
    }

    /// The one history pruner of a store.
    pub const HISTORY_PRUNER: &str = "toygres-system-history-pruner";
    /// The one warm pool of a store (local platform).
    pub const WARM_POOL: &str = "toygres-system-warm-pool";

    const RETRY_PREFIX: &str = "retry-";

    /// An operator's retry of failed operation `of`: one per failed operation, so asking
    /// twice finds the first (a retry that fails is retried as `retry-retry-...`). The
    /// `::` of a sub-orchestration's id, not allowed in a root id, becomes `..`.
    pub fn retry(of: &str) -> String {
        format!("{RETRY_PREFIX}{}", of.replace("::", ".."))
    }

    /// What an operation's id says it acts on (read back from the ids made above).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Subject {
        /// An instance, by its CMS record.
        Record(Uuid),
        /// An instance, by name (a create's id names it before any record is read).
        Name(InstanceName),
        /// A backup, by its id.
        Backup(Uuid),
        /// Nothing in particular (system operations, ids made elsewhere).
        None,
    }

    /// The subject of operation `id`; a sub-orchestration (`parent::sub::n`) acts on what
    /// its parent does.
    pub fn subject_of(id: &str) -> Subject {
        if let Some(retried) = id.strip_prefix(RETRY_PREFIX) {
            return subject_of(&retried.replace("..", "::"));
        }
        let root = id.split("::").next().unwrap_or(id);
        let leading_uuid = |rest: &str| rest.get(..36).and_then(|text| Uuid::parse_str(text).ok());
        let by_record = |rest: &str| leading_uuid(rest).map_or(Subject::None, Subject::Record);
        let record_prefixes = [
            INSTANCE_ACTOR_PREFIX,
            "backup-schedule-",
            "scheduled-backup-",
            "stop-",
            "start-",
            "restart-",
            "superuser-access-",
        ];
        if let Some(rest) = root.strip_prefix("delete-backup-") {
            return leading_uuid(rest).map_or(Subject::None, Subject::Backup);
        }
        if let Some(rest) = record_prefixes.iter().find_map(|p| root.strip_prefix(p)) {
            return by_record(rest);
        }
        if let Some(rest) = root
            .strip_prefix("backup-")
            .or(root.strip_prefix("delete-"))
        {
            return by_record(rest);
        }
        root.strip_prefix("create-")
            .and_then(|rest| rest.rsplit_once('-'))
            .filter(|(_, attempt)| attempt.len() == 32)
            .and_then(|(name, _)| InstanceName::parse(name).ok())
            .map_or(Subject::None, Subject::Name)
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
        tags::ALL.iter().for_each(|n| assert_format(n, "tag"));
    }

    #[test]
    fn every_operation_id_names_its_subject() {
        use instance_ids::{Subject, subject_of};
        let record = uuid::Uuid::new_v4();
        let other = uuid::Uuid::new_v4();
        let name = crate::domain::InstanceName::parse("shop-2").unwrap();
        let create = instance_ids::create_instance(&name, other);
        for id in [
            instance_ids::delete_instance(record),
            instance_ids::instance_actor(record),
            instance_ids::operation("restart", record, other),
            instance_ids::operation("superuser-access", record, other),
            instance_ids::backup(record, other),
            instance_ids::scheduled_backup(record, other, 7),
            instance_ids::backup_schedule(record),
        ] {
            assert_eq!(subject_of(&id), Subject::Record(record), "{id}");
        }
        assert_eq!(subject_of(&create), Subject::Name(name.clone()));
        assert_eq!(
            subject_of(&format!("{create}::sub::3")),
            Subject::Name(name)
        );
        assert_eq!(
            subject_of(&instance_ids::delete_backup(record)),
            Subject::Backup(record)
        );
        let cleanup = format!("{create}::sub::3");
        let retried = instance_ids::retry(&instance_ids::retry(&cleanup));
        assert!(!retried.contains("::"), "{retried}");
        assert_eq!(
            subject_of(&retried),
            Subject::Name(crate::domain::InstanceName::parse("shop-2").unwrap())
        );
        assert_eq!(
            subject_of(&instance_ids::retry(&instance_ids::delete_instance(record))),
            Subject::Record(record)
        );
        for id in [
            instance_ids::HISTORY_PRUNER,
            instance_ids::WARM_POOL,
            "create-x",
            "",
        ] {
            assert_eq!(subject_of(id), Subject::None, "{id}");
        }
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
}
