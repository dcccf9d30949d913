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
        /// A planned move of an instance's primary role to one of its standbys.
        SWITCHOVER_INSTANCE = "toygres-orchestrations::orchestration::switchover-instance";
        /// Promotes a standby of an instance whose primary failed.
        FAILOVER_INSTANCE = "toygres-orchestrations::orchestration::failover-instance";
        /// Changes an instance's PostgreSQL parameters.
        CONFIGURE_INSTANCE = "toygres-orchestrations::orchestration::configure-instance";
        /// Many creates or many deletes as one operation.
        BATCH = "toygres-orchestrations::orchestration::batch";
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
        // Standbys.
        MOVE_PRIMARY = "toygres-orchestrations::activity::move-primary";
        /// Since instance-actor 1.2.0: dead standbys started or cloned again.
        REJOIN_STANDBYS = "toygres-orchestrations::activity::rejoin-standbys";
        /// The tenant's PostgreSQL parameters onto every server of an instance.
        APPLY_SETTINGS = "toygres-orchestrations::activity::apply-settings";
        // Batches.
        START_BATCH_CHILDREN = "toygres-orchestrations::activity::start-batch-children";
        BATCH_PROGRESS = "toygres-orchestrations::activity::batch-progress";
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
        /// The health sweep found an instance's health changed (to an actor since 1.2.0).
        HEALTH_CHANGED = "toygres-orchestrations::event::health-changed";
        /// Failure detection saw standbys of an instance down while its primary answers
        /// (to an actor since 1.2.0, which rebuilds them).
        STANDBYS_DOWN = "toygres-orchestrations::event::standbys-down";
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
        (INSTANCE_ACTOR, &[V1_0_0, V1_1_0, V1_2_0]),
        (HISTORY_PRUNER, &[V1_0_0]),
        (WARM_POOL, &[V1_0_0]),
        (STOP_INSTANCE, &[V1_0_0]),
        (START_INSTANCE, &[V1_0_0]),
        (RESTART_INSTANCE, &[V1_0_0]),
        (SET_SUPERUSER_ACCESS, &[V1_0_0]),
        (BACKUP_INSTANCE, &[V1_0_0]),
        (BACKUP_SCHEDULE, &[V1_0_0]),
        (DELETE_BACKUP, &[V1_0_0]),
        (SWITCHOVER_INSTANCE, &[V1_0_0]),
        (FAILOVER_INSTANCE, &[V1_0_0, V1_1_0]),
        (CONFIGURE_INSTANCE, &[V1_0_0]),
        (BATCH, &[V1_0_0]),
    ];
}

/// Instance ids of the orchestrations Toygres starts, in one place so that the API,
/// reconciliation and tests all agree on them. Each is an `OperationId`: made from typed
/// parts and read back into them (`Display`/`FromStr`), so what an id says it acts on is
/// never guessed from a prefix.
pub mod instance_ids {
    use std::fmt;
    use std::str::FromStr;

    use uuid::Uuid;

    use crate::domain::InstanceName;

    const INSTANCE_ACTOR_PREFIX: &str = "toygres-instance-actor-";
    const RETRY_PREFIX: &str = "retry-";
    /// How duroxide names a sub-orchestration: `{parent}::sub::{n}`.
    const SUB_SEPARATOR: &str = "::";
    /// What a retry's id writes for [`SUB_SEPARATOR`], not allowed in a root id.
    const SUB_SEPARATOR_IN_RETRY: &str = "..";

    /// The one history pruner of a store.
    pub const HISTORY_PRUNER: &str = "toygres-system-history-pruner";
    /// The one warm pool of a store (local platform).
    pub const WARM_POOL: &str = "toygres-system-warm-pool";

    /// An operation on one record that a user asks for, unique per request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RecordOperation {
        Stop,
        Start,
        Restart,
        SuperuserAccess,
        Switchover,
        Failover,
        Configure,
    }

    impl RecordOperation {
        pub const ALL: [Self; 7] = [
            Self::Stop,
            Self::Start,
            Self::Restart,
            Self::SuperuserAccess,
            Self::Switchover,
            Self::Failover,
            Self::Configure,
        ];

        /// Its word in ids and logs.
        pub fn as_str(self) -> &'static str {
            match self {
                Self::Stop => "stop",
                Self::Start => "start",
                Self::Restart => "restart",
                Self::SuperuserAccess => "superuser-access",
                Self::Switchover => "switchover",
                Self::Failover => "failover",
                Self::Configure => "configure",
            }
        }
    }

    impl fmt::Display for RecordOperation {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.as_str())
        }
    }

    /// The id of an orchestration Toygres starts.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum OperationId {
        /// A create: unique per request (`attempt` is a fresh random value), so two
        /// creates of a name never share an orchestration.
        Create {
            name: InstanceName,
            attempt: Uuid,
        },
        /// The delete of one CMS record; derived from it, so repeating a DELETE finds the
        /// delete already under way.
        Delete {
            record: Uuid,
        },
        /// The health-watching actor of one instance (one per CMS row, never reused).
        InstanceActor {
            record: Uuid,
        },
        /// A stop, start, restart or superuser-access change of one record.
        OnRecord {
            operation: RecordOperation,
            record: Uuid,
            attempt: Uuid,
        },
        /// A backup of one record asked for by a user: unique per request.
        Backup {
            record: Uuid,
            attempt: Uuid,
        },
        /// The backup a schedule takes at tick `cycle` of its run `generation`: also the
        /// key of its reservation, so a retried tick finds the same backup.
        ScheduledBackup {
            record: Uuid,
            generation: Uuid,
            cycle: u64,
        },
        /// The backup schedule of one record (at most one).
        BackupSchedule {
            record: Uuid,
        },
        /// The removal of one backup.
        DeleteBackup {
            backup: Uuid,
        },
        HistoryPruner,
        WarmPool,
        /// Many creates or deletes as one operation: unique per request.
        Batch {
            attempt: Uuid,
        },
        /// A sub-orchestration of `parent` (`{parent}::{path}`, as duroxide names it).
        Sub {
            parent: Box<OperationId>,
            path: String,
        },
        /// An operator's retry of failed operation `of`: one per failed operation, so
        /// asking twice finds the first (a retry that fails is retried as
        /// `retry-retry-...`). Its id writes `of`'s `::` as `..`, so a retry of a retry's
        /// sub-orchestration and a retry of a retry of a sub-orchestration read back the
        /// same (the format is durable); both act on the same subject.
        Retry(Box<OperationId>),
    }

    /// What an operation acts on.
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

    impl OperationId {
        /// What it acts on; a sub-orchestration and a retry act on what their operation
        /// does.
        pub fn subject(&self) -> Subject {
            match self {
                Self::Create { name, .. } => Subject::Name(name.clone()),
                Self::Delete { record }
                | Self::InstanceActor { record }
                | Self::OnRecord { record, .. }
                | Self::Backup { record, .. }
                | Self::ScheduledBackup { record, .. }
                | Self::BackupSchedule { record } => Subject::Record(*record),
                Self::DeleteBackup { backup } => Subject::Backup(*backup),
                Self::HistoryPruner | Self::WarmPool | Self::Batch { .. } => Subject::None,
                Self::Sub { parent, .. } => parent.subject(),
                Self::Retry(of) => of.subject(),
            }
        }
    }

    impl fmt::Display for OperationId {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Create { name, attempt } => write!(f, "create-{name}-{}", attempt.simple()),
                Self::Delete { record } => write!(f, "delete-{record}"),
                Self::InstanceActor { record } => write!(f, "{INSTANCE_ACTOR_PREFIX}{record}"),
                Self::OnRecord {
                    operation,
                    record,
                    attempt,
                } => write!(f, "{operation}-{record}-{}", attempt.simple()),
                Self::Backup { record, attempt } => {
                    write!(f, "backup-{record}-{}", attempt.simple())
                }
                Self::ScheduledBackup {
                    record,
                    generation,
                    cycle,
                } => write!(
                    f,
                    "scheduled-backup-{record}-{}-{cycle}",
                    generation.simple()
                ),
                Self::BackupSchedule { record } => write!(f, "backup-schedule-{record}"),
                Self::DeleteBackup { backup } => write!(f, "delete-backup-{backup}"),
                Self::HistoryPruner => f.write_str(HISTORY_PRUNER),
                Self::WarmPool => f.write_str(WARM_POOL),
                Self::Batch { attempt } => write!(f, "batch-{}", attempt.simple()),
                Self::Sub { parent, path } => write!(f, "{parent}{SUB_SEPARATOR}{path}"),
                Self::Retry(of) => write!(
                    f,
                    "{RETRY_PREFIX}{}",
                    of.to_string()
                        .replace(SUB_SEPARATOR, SUB_SEPARATOR_IN_RETRY)
                ),
            }
        }
    }

    /// An id Toygres did not make (or made by an earlier version in another shape).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UnknownId(pub String);

    impl fmt::Display for UnknownId {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?} is not an operation id Toygres makes", self.0)
        }
    }

    impl std::error::Error for UnknownId {}

    impl FromStr for OperationId {
        type Err = UnknownId;

        fn from_str(id: &str) -> Result<Self, UnknownId> {
            parse(id).ok_or_else(|| UnknownId(id.to_string()))
        }
    }

    fn parse(id: &str) -> Option<OperationId> {
        if let Some((parent, path)) = id.split_once(SUB_SEPARATOR) {
            return Some(OperationId::Sub {
                parent: Box::new(parse(parent)?),
                path: path.to_string(),
            });
        }
        if let Some(retried) = id.strip_prefix(RETRY_PREFIX) {
            let of = retried.replace(SUB_SEPARATOR_IN_RETRY, SUB_SEPARATOR);
            return Some(OperationId::Retry(Box::new(parse(&of)?)));
        }
        parse_root(id)
    }

    fn parse_root(id: &str) -> Option<OperationId> {
        use OperationId::*;
        match id {
            HISTORY_PRUNER => return Some(HistoryPruner),
            WARM_POOL => return Some(WarmPool),
            _ => {}
        }
        if let Some(rest) = id.strip_prefix(INSTANCE_ACTOR_PREFIX) {
            return Some(InstanceActor {
                record: record(rest)?,
            });
        }
        if let Some(rest) = id.strip_prefix("scheduled-backup-") {
            let (record, rest) = record_then(rest)?;
            let (generation, cycle) = rest.split_once('-')?;
            return Some(ScheduledBackup {
                record,
                generation: attempt(generation)?,
                cycle: cycle.parse().ok()?,
            });
        }
        if let Some(rest) = id.strip_prefix("backup-schedule-") {
            return Some(BackupSchedule {
                record: record(rest)?,
            });
        }
        if let Some(rest) = id.strip_prefix("delete-backup-") {
            return Some(DeleteBackup {
                backup: record(rest)?,
            });
        }
        if let Some(rest) = id.strip_prefix("delete-") {
            return Some(Delete {
                record: record(rest)?,
            });
        }
        if let Some(rest) = id.strip_prefix("backup-") {
            let (record, rest) = record_then(rest)?;
            return Some(Backup {
                record,
                attempt: attempt(rest)?,
            });
        }
        if let Some(rest) = id.strip_prefix("batch-") {
            return Some(Batch {
                attempt: attempt(rest)?,
            });
        }
        if let Some(rest) = id.strip_prefix("create-") {
            let (name, rest) = rest.rsplit_once('-')?;
            return Some(Create {
                name: InstanceName::parse(name).ok()?,
                attempt: attempt(rest)?,
            });
        }
        RecordOperation::ALL.into_iter().find_map(|operation| {
            let rest = id.strip_prefix(operation.as_str())?.strip_prefix('-')?;
            let (record, rest) = record_then(rest)?;
            Some(OnRecord {
                operation,
                record,
                attempt: attempt(rest)?,
            })
        })
    }

    /// A record's or backup's id, written hyphenated.
    fn record(text: &str) -> Option<Uuid> {
        (text.len() == 36).then(|| Uuid::try_parse(text).ok())?
    }

    /// A hyphenated id, a `-`, and the rest.
    fn record_then(text: &str) -> Option<(Uuid, &str)> {
        let (id, rest) = text.split_at_checked(36)?;
        Some((record(id)?, rest.strip_prefix('-')?))
    }

    /// A request's random value, written without hyphens.
    fn attempt(text: &str) -> Option<Uuid> {
        (text.len() == 32).then(|| Uuid::try_parse(text).ok())?
    }

    /// The subject of operation `id`: nothing for an id Toygres did not make.
    pub fn subject_of(id: &str) -> Subject {
        id.parse::<OperationId>()
            .map_or(Subject::None, |id| id.subject())
    }

    /// Whether `id` is the id of an instance actor.
    pub fn is_instance_actor(id: &str) -> bool {
        matches!(id.parse(), Ok(OperationId::InstanceActor { .. }))
    }

    pub fn batch(attempt: Uuid) -> String {
        OperationId::Batch { attempt }.to_string()
    }

    pub fn create_instance(name: &InstanceName, attempt: Uuid) -> String {
        OperationId::Create {
            name: name.clone(),
            attempt,
        }
        .to_string()
    }

    pub fn delete_instance(record: Uuid) -> String {
        OperationId::Delete { record }.to_string()
    }

    pub fn instance_actor(record: Uuid) -> String {
        OperationId::InstanceActor { record }.to_string()
    }

    pub fn operation(operation: RecordOperation, record: Uuid, attempt: Uuid) -> String {
        OperationId::OnRecord {
            operation,
            record,
            attempt,
        }
        .to_string()
    }

    pub fn backup(record: Uuid, attempt: Uuid) -> String {
        OperationId::Backup { record, attempt }.to_string()
    }

    pub fn scheduled_backup(record: Uuid, generation: Uuid, cycle: u64) -> String {
        OperationId::ScheduledBackup {
            record,
            generation,
            cycle,
        }
        .to_string()
    }

    pub fn backup_schedule(record: Uuid) -> String {
        OperationId::BackupSchedule { record }.to_string()
    }

    pub fn delete_backup(backup: Uuid) -> String {
        OperationId::DeleteBackup { backup }.to_string()
    }

    /// The retry of failed operation `of` (see [`OperationId::Retry`]). An id Toygres did
    /// not make is retried under `retry-` and the id, as ever.
    pub fn retry(of: &str) -> String {
        match of.parse::<OperationId>() {
            Ok(of) => OperationId::Retry(Box::new(of)).to_string(),
            Err(_) => format!(
                "{RETRY_PREFIX}{}",
                of.replace(SUB_SEPARATOR, SUB_SEPARATOR_IN_RETRY)
            ),
        }
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
    fn every_operation_id_reads_back_as_made_and_names_its_subject() {
        use instance_ids::{OperationId, RecordOperation, Subject, subject_of};
        let record = uuid::Uuid::new_v4();
        let other = uuid::Uuid::new_v4();
        let name = crate::domain::InstanceName::parse("shop-2").unwrap();
        let create = OperationId::Create {
            name: name.clone(),
            attempt: other,
        };
        let mut on_record = vec![
            OperationId::Delete { record },
            OperationId::InstanceActor { record },
            OperationId::Backup {
                record,
                attempt: other,
            },
            OperationId::ScheduledBackup {
                record,
                generation: other,
                cycle: 7,
            },
            OperationId::BackupSchedule { record },
        ];
        on_record.extend(
            RecordOperation::ALL
                .into_iter()
                .map(|operation| OperationId::OnRecord {
                    operation,
                    record,
                    attempt: other,
                }),
        );
        let cleanup = OperationId::Sub {
            parent: Box::new(create.clone()),
            path: "sub::3".into(),
        };
        let retried_twice =
            OperationId::Retry(Box::new(OperationId::Retry(Box::new(cleanup.clone()))));
        let sub_of_a_retry = OperationId::Sub {
            parent: Box::new(OperationId::Retry(Box::new(create.clone()))),
            path: "sub::1".into(),
        };
        let by_name = [create, cleanup, retried_twice.clone(), sub_of_a_retry];
        let backup = OperationId::DeleteBackup { backup: record };
        let system = [OperationId::HistoryPruner, OperationId::WarmPool];
        let all = on_record
            .iter()
            .chain(&by_name)
            .chain([&backup])
            .chain(&system);
        for id in all {
            let text = id.to_string();
            let read = text.parse::<OperationId>().unwrap();
            assert_eq!(read.to_string(), text);
            assert_eq!(read.subject(), id.subject(), "{text}");
            if !matches!(id, OperationId::Retry(_)) {
                assert_eq!(&read, id, "{text}");
            }
        }
        for id in &on_record {
            assert_eq!(id.subject(), Subject::Record(record), "{id}");
        }
        for id in &by_name {
            assert_eq!(id.subject(), Subject::Name(name.clone()), "{id}");
        }
        assert_eq!(backup.subject(), Subject::Backup(record));
        assert!(!retried_twice.to_string().contains("::"), "{retried_twice}");
        assert_eq!(
            instance_ids::retry(&instance_ids::delete_instance(record)),
            format!("retry-delete-{record}")
        );
        for id in [
            instance_ids::HISTORY_PRUNER,
            instance_ids::WARM_POOL,
            "create-x",
            "stop-not-a-record",
            "restart-{record}",
            "",
        ] {
            assert_eq!(subject_of(id), Subject::None, "{id}");
        }
        assert_eq!(
            instance_ids::retry("made-elsewhere::sub::1"),
            "retry-made-elsewhere..sub..1"
        );
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
