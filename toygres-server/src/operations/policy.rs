//! What an operator may do to an operation, by its kind, so that no cancel or retry can
//! leave an instance half-made.
//!
//! Cancelling is allowed where something else finishes the job cleanly: a health actor or
//! a system orchestration is started again by reconciliation, a backup is recorded failed
//! by it, a backup removal can simply be asked for again. It is refused where the
//! operation owns the instance's state (create, delete, stop, start, restart: each ends on
//! its own, and a delete wins over any of them) and for a backup schedule, which
//! reconciliation would restart (turn it off instead). Retrying is for failed deletes
//! (including a create's cleanup), backups and backup removals.

use toygres_domain::OperationKind;

/// Whether an operation of a kind may be cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    /// Allowed; `then` says what happens next.
    Allowed {
        then: String,
    },
    Refused {
        why: String,
    },
}

/// How a failed operation of a kind is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// The same orchestration with the same input, under a new id.
    SameInput,
    /// A new backup of the same instance (a backup's input names the failed backup).
    NewBackup,
    /// Not retried; `why` says what to do instead.
    Refused { why: String },
}

/// The cancel rule for `kind`; `instance` names its instance in the sentences.
pub fn cancel(kind: OperationKind, instance: Option<&str>) -> Cancel {
    let name = instance.unwrap_or("the instance");
    let allowed = |then: String| Cancel::Allowed { then };
    let refused = |why: String| Cancel::Refused { why };
    match kind {
        OperationKind::Actor => allowed(format!(
            "reconciliation starts a new health actor for {name} at its next pass"
        )),
        OperationKind::System => allowed("reconciliation starts it again at its next pass".into()),
        OperationKind::Backup => allowed(
            "its pgBackRest is stopped; once it is gone, reconciliation records the backup: completed if pgBackRest had already finished it, else failed"
                .into(),
        ),
        OperationKind::DeleteBackup => allowed(
            "the removal stops, perhaps halfway: delete the backup again to finish it".into(),
        ),
        OperationKind::BackupSchedule => refused(format!(
            "reconciliation would start the schedule again: turn it off instead (toygres-cli backup schedule {name} --off)"
        )),
        OperationKind::Create => refused(format!(
            "cancelling would leave {name} half-made: delete it instead (toygres-cli delete {name}); a delete wins over a create and removes what it made"
        )),
        OperationKind::Delete => {
            refused("a delete cannot stop halfway: wait for it, or retry it if it fails".into())
        }
        OperationKind::Stop | OperationKind::Start | OperationKind::Restart => refused(format!(
            "cancelling would leave {name} between states: it ends on its own (failed if the server does not come up); then start, stop or delete it"
        )),
        OperationKind::SuperuserAccess => refused(format!(
            "cancelling could leave {name}'s logins half-changed: it ends on its own; then turn superuser access on or off again"
        )),
        OperationKind::Switchover => refused(format!(
            "cancelling could leave {name} without a primary: it ends on its own (failed if no standby can take over; then start {name}, which starts its recorded primary again)"
        )),
        OperationKind::Failover => refused(format!(
            "cancelling could leave {name} without a primary, or with two: it ends on its own (failed if no standby can take over)"
        )),
        OperationKind::Batch => allowed(
            "the creates and deletes it started go on; those it had not started yet never start".into(),
        ),
        OperationKind::Configure => refused(format!(
            "cancelling could leave {name} between its old and new parameters: it ends on its own; then change them again (toygres-cli config set {name} ...)"
        )),
    }
}

/// The retry rule for `kind`; `instance` names its instance in the sentences.
pub fn retry(kind: OperationKind, instance: Option<&str>) -> Retry {
    let name = instance.unwrap_or("NAME");
    let refused = |why: String| Retry::Refused { why };
    match kind {
        OperationKind::Delete | OperationKind::DeleteBackup => Retry::SameInput,
        OperationKind::Backup => Retry::NewBackup,
        OperationKind::Create => refused(format!(
            "a failed create leaves a failed record: delete it (toygres-cli delete {name}), then create it again"
        )),
        OperationKind::Stop | OperationKind::Start | OperationKind::Restart => {
            refused(format!("ask for it again: toygres-cli {kind} {name}"))
        }
        OperationKind::SuperuserAccess => refused(format!(
            "ask for it again: toygres-cli superuser-access {name} on|off"
        )),
        OperationKind::Switchover => {
            refused(format!("ask for it again: toygres-cli switchover {name}"))
        }
        OperationKind::Batch => refused(
            "ask for it again: a repeated delete finds what is left; a repeated create refuses names already taken".into(),
        ),
        OperationKind::Configure => refused(format!(
            "ask for it again: toygres-cli config set {name} NAME=VALUE (the parameters asked for are kept: toygres-cli config show {name})"
        )),
        OperationKind::Failover => refused(format!(
            "failure detection starts a failover when the primary of a running instance fails; a failed one leaves {name} failed: start it (toygres-cli start {name})"
        )),
        OperationKind::Actor => {
            refused("reconciliation replaces a health actor that failed, at its next pass".into())
        }
        OperationKind::BackupSchedule => refused(
            "reconciliation starts a new run of a schedule that failed, at its next pass".into(),
        ),
        OperationKind::System => refused("reconciliation starts it again at its next pass".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_that_own_an_instance_state_are_never_cancelled() {
        for kind in [
            OperationKind::Create,
            OperationKind::Delete,
            OperationKind::Stop,
            OperationKind::Start,
            OperationKind::Restart,
            OperationKind::Switchover,
        ] {
            assert!(
                matches!(cancel(kind, Some("shop")), Cancel::Refused { .. }),
                "{kind}"
            );
        }
        match cancel(OperationKind::Actor, Some("shop")) {
            Cancel::Allowed { then } => assert!(then.contains("reconciliation"), "{then}"),
            other => panic!("{other:?}"),
        }
    }
}
