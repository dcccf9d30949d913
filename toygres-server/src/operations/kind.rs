//! Which orchestrations make up each kind of operation.

use toygres_domain::OperationKind;
use toygres_orchestrations::names::orchestrations;

/// Every kind with the orchestrations that are of it.
const KINDS: &[(OperationKind, &[&str])] = &[
    (OperationKind::Create, &[orchestrations::CREATE_INSTANCE]),
    (OperationKind::Delete, &[orchestrations::DELETE_INSTANCE]),
    (OperationKind::Actor, &[orchestrations::INSTANCE_ACTOR]),
    (OperationKind::Stop, &[orchestrations::STOP_INSTANCE]),
    (OperationKind::Start, &[orchestrations::START_INSTANCE]),
    (OperationKind::Restart, &[orchestrations::RESTART_INSTANCE]),
    (
        OperationKind::SuperuserAccess,
        &[orchestrations::SET_SUPERUSER_ACCESS],
    ),
    (
        OperationKind::Switchover,
        &[orchestrations::SWITCHOVER_INSTANCE],
    ),
    (
        OperationKind::Failover,
        &[orchestrations::FAILOVER_INSTANCE],
    ),
    (
        OperationKind::Configure,
        &[orchestrations::CONFIGURE_INSTANCE],
    ),
    (OperationKind::Batch, &[orchestrations::BATCH]),
    (OperationKind::Backup, &[orchestrations::BACKUP_INSTANCE]),
    (
        OperationKind::BackupSchedule,
        &[orchestrations::BACKUP_SCHEDULE],
    ),
    (
        OperationKind::DeleteBackup,
        &[orchestrations::DELETE_BACKUP],
    ),
    (
        OperationKind::System,
        &[orchestrations::HISTORY_PRUNER, orchestrations::WARM_POOL],
    ),
];

/// The kind of an orchestration (`System` for anything Toygres does not know).
pub fn of(orchestration: &str) -> OperationKind {
    KINDS
        .iter()
        .find(|(_, names)| names.contains(&orchestration))
        .map_or(OperationKind::System, |(kind, _)| *kind)
}

/// The orchestrations of `kind`.
pub fn orchestrations_of(kind: OperationKind) -> &'static [&'static str] {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, names)| names)
}

/// The short name of an orchestration or activity (`create-instance` for
/// `toygres-orchestrations::orchestration::create-instance`).
pub fn short(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_orchestration_has_a_kind_and_every_kind_its_orchestrations() {
        for name in orchestrations::ALL {
            assert!(orchestrations_of(of(name)).contains(name), "{name}");
        }
        for kind in OperationKind::ALL {
            assert!(!orchestrations_of(*kind).is_empty(), "{kind}");
        }
    }
}
