//! The fields every log line about an instance carries: `instance` (its name) and
//! `orchestration_id`, as structured fields of a span around each orchestration turn and
//! each activity run. An operator filters one instance's lines (the runtime's, the
//! platform's and ours) by a field, not by a pattern over message text.
//!
//! Each input says what it is about ([`About`]). Most name their instance; a few were
//! shipped with a record or backup id alone and stay that way, since histories hold them:
//! an activity resolves those through the CMS ([`InstanceNames`](crate::activities::instance_names::InstanceNames)),
//! an orchestration (which may not do I/O) logs the id it has.

use tracing::Span;
use tracing::field::Empty;
use uuid::Uuid;

use crate::activity_types::{
    ApplySettingsInput, CheckHealthInput, DeployInstanceInput, DestroyInstanceInput,
    ExpireBackupsInput, FinishBackupInput, InstanceRef, MarkFailedInput, MarkRunningInput,
    MovePrimaryInput, OperateInput, ProvisionInstanceInput, RecordHealthInput, RemoveBackupInput,
    ReserveBackupInput, ReserveInstanceInput, RestoreInstanceInput, TakeBackupInput,
    TransitionInput, WatchInput,
};
use crate::domain::InstanceName;
use crate::names::instance_ids;
use crate::types::{
    BackupInput, BackupScheduleInput, BatchInput, ConfigureInput, CreateInstanceInput,
    DeleteBackupInput, DeleteInstanceInput, HistoryPrunerInput, InstanceActorInput, OperationInput,
    SuperuserAccessInput, SwitchoverInput, WarmPoolInput, v1_1, v1_2,
};

/// What an orchestration or activity acts on, as far as its input tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concerns {
    Instance(InstanceName),
    /// An instance known by its CMS record id only.
    Record(Uuid),
    /// A backup, which belongs to an instance.
    Backup(Uuid),
    /// The fleet as a whole (the history pruner, the warm pool).
    Fleet,
}

pub trait About {
    fn concerns(&self) -> Concerns;
}

/// The span around an orchestration's turn. `instance` is set when the input names it.
pub fn orchestration_span(orchestration_id: &str, concerns: &Concerns) -> Span {
    let span = tracing::info_span!(
        "orchestration",
        orchestration_id,
        instance = Empty,
        record_id = Empty,
        backup_id = Empty
    );
    record(&span, concerns);
    span
}

/// The span around an activity's run; `instance` is the resolved name, when there is one.
pub fn activity_span(
    activity: &str,
    orchestration_id: &str,
    concerns: &Concerns,
    instance: Option<&InstanceName>,
) -> Span {
    let span = tracing::info_span!(
        "activity",
        activity,
        orchestration_id,
        instance = Empty,
        record_id = Empty,
        backup_id = Empty
    );
    record(&span, concerns);
    if let (Some(name), false) = (instance, matches!(concerns, Concerns::Instance(_))) {
        span.record("instance", name.as_str());
    }
    span
}

fn record(span: &Span, concerns: &Concerns) {
    match concerns {
        Concerns::Instance(name) => span.record("instance", name.as_str()),
        Concerns::Record(id) => span.record("record_id", tracing::field::display(id)),
        Concerns::Backup(id) => span.record("backup_id", tracing::field::display(id)),
        Concerns::Fleet => span,
    };
}

/// Implements [`About`] for inputs that carry the name in `$($field).+`.
macro_rules! named_by {
    ($($type:ty => $($field:ident).+;)+) => {
        $(impl About for $type {
            fn concerns(&self) -> Concerns {
                Concerns::Instance(self.$($field).+.clone())
            }
        })+
    };
}

named_by! {
    InstanceRef => name;
    ReserveInstanceInput => spec.name;
    DeployInstanceInput => spec.name;
    ProvisionInstanceInput => spec.name;
    RestoreInstanceInput => spec.name;
    DestroyInstanceInput => name;
    CheckHealthInput => name;
    TransitionInput => name;
    OperateInput => name;
    ApplySettingsInput => name;
    MovePrimaryInput => name;
    WatchInput => name;
    TakeBackupInput => name;
    CreateInstanceInput => spec.name;
    v1_1::CreateInstanceInput => spec.name;
    v1_2::CreateInstanceInput => spec.name;
    DeleteInstanceInput => name;
    InstanceActorInput => name;
    v1_1::InstanceActorInput => name;
    OperationInput => name;
    BackupInput => name;
    BackupScheduleInput => name;
}

impl About for SuperuserAccessInput {
    fn concerns(&self) -> Concerns {
        self.operation.concerns()
    }
}

impl About for BatchInput {
    fn concerns(&self) -> Concerns {
        Concerns::Fleet
    }
}

impl About for ConfigureInput {
    fn concerns(&self) -> Concerns {
        self.operation.concerns()
    }
}

impl About for SwitchoverInput {
    fn concerns(&self) -> Concerns {
        self.operation.concerns()
    }
}

impl About for v1_1::FailoverInput {
    fn concerns(&self) -> Concerns {
        self.operation.concerns()
    }
}

impl About for MarkRunningInput {
    fn concerns(&self) -> Concerns {
        Concerns::Record(self.instance_id)
    }
}

impl About for MarkFailedInput {
    fn concerns(&self) -> Concerns {
        Concerns::Record(self.instance_id)
    }
}

impl About for RecordHealthInput {
    fn concerns(&self) -> Concerns {
        Concerns::Record(self.instance_id)
    }
}

impl About for ReserveBackupInput {
    fn concerns(&self) -> Concerns {
        Concerns::Record(self.record_id)
    }
}

impl About for FinishBackupInput {
    fn concerns(&self) -> Concerns {
        Concerns::Backup(self.backup_id)
    }
}

impl About for RemoveBackupInput {
    fn concerns(&self) -> Concerns {
        Concerns::Backup(self.backup_id)
    }
}

impl About for DeleteBackupInput {
    fn concerns(&self) -> Concerns {
        Concerns::Backup(self.backup_id)
    }
}

impl About for ExpireBackupsInput {
    fn concerns(&self) -> Concerns {
        instance_ids::name_of_stanza(&self.stanza).map_or(Concerns::Fleet, Concerns::Instance)
    }
}

impl About for HistoryPrunerInput {
    fn concerns(&self) -> Concerns {
        Concerns::Fleet
    }
}

impl About for WarmPoolInput {
    fn concerns(&self) -> Concerns {
        Concerns::Fleet
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::subscriber::with_default;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Collects what a `fmt` subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    fn logged(emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(captured.clone())
            .finish();
        with_default(subscriber, emit);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_line_inside_the_span_carries_the_instance_and_the_orchestration_id() {
        let name = InstanceName::parse("shop").unwrap();
        let line = logged(|| {
            let span = activity_span(
                "deploy-instance",
                "create-shop-1",
                &Concerns::Record(Uuid::nil()),
                Some(&name),
            );
            span.in_scope(|| tracing::info!("deployed"));
        });
        let json: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(json["span"]["instance"], "shop", "{line}");
        assert_eq!(json["span"]["orchestration_id"], "create-shop-1", "{line}");
        assert_eq!(json["span"]["activity"], "deploy-instance", "{line}");
    }

    #[test]
    fn a_named_input_names_its_instance_once() {
        let name = InstanceName::parse("shop").unwrap();
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish();
        with_default(subscriber, || {
            let concerns = Concerns::Instance(name.clone());
            let span = activity_span("check-health", "actor-1", &concerns, Some(&name));
            span.in_scope(|| tracing::info!("checked"));
        });
        let line = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(line.matches("instance=").count(), 1, "{line}");
    }

    #[test]
    fn an_orchestration_without_a_name_logs_the_id_it_has() {
        let backup = Uuid::new_v4();
        let line = logged(|| {
            let span = orchestration_span("delete-backup-x", &Concerns::Backup(backup));
            span.in_scope(|| tracing::info!("removing"));
        });
        let json: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(json["span"]["backup_id"], backup.to_string(), "{line}");
        assert!(json["span"].get("instance").is_none(), "{line}");
    }

    #[test]
    fn a_stanza_names_its_instance() {
        let name = InstanceName::parse("shop-2").unwrap();
        let stanza = instance_ids::stanza(&name, Uuid::new_v4());
        let input = ExpireBackupsInput { stanza, keep: 3 };
        assert_eq!(input.concerns(), Concerns::Instance(name));
    }
}
