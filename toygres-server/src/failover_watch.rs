//! Failure detection for instances with standbys, with no durable step per look.
//!
//! Every [`LOOK_EVERY`] the server asks the platform, for each running instance with
//! standbys, whether its primary is there ([`Platform::primary_health`]: is the postmaster
//! process there at all, proven through `/proc` rather than guessed from a timeout, and
//! does it answer within a second). While it answers nothing is written anywhere: durable
//! history records the transition only. When the process is gone at
//! [`GONE_LOOKS`] looks in a row, or silent at [`SILENT_LOOKS`], the record moves
//! `running` → `failing_over` under its lock, so among several servers one failover starts
//! (whichever moves it first), and `failover-instance` starts under the id the record then
//! names (reconciliation starts it again if this server dies in between), provided a
//! standby answers: when every member is down (after the machine restarted, say) there is
//! nothing to promote, and the instance is left as a single one would be, unhealthy until
//! it is started. The control database is read only for the list of instances: when it
//! does not answer, the look is skipped and nothing starts, so an unreachable control
//! database never causes a failover.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use duroxide::Client;
use sqlx::PgPool;
use tokio::task::JoinSet;
use toygres_cms::instances::{self, Change, InstanceRecord, Transition};
use toygres_domain::{InstanceName, InstanceState, MemberRole, MemberState};
use toygres_orchestrations::names;
use toygres_orchestrations::types::v1_1::FailoverInput;
use toygres_platform::{Platform, PrimaryHealth};
use uuid::Uuid;

use crate::instance_operation::{InstanceOperation, operation_input};

/// How often every watched primary is looked at.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);
/// Looks in a row that find the primary's process gone before a failover starts.
pub const GONE_LOOKS: u32 = 2;
/// Looks in a row at which the primary's process runs but does not answer.
pub const SILENT_LOOKS: u32 = 4;

/// What the looks so far say about one instance's primary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Suspicion {
    gone: u32,
    silent: u32,
}

impl Suspicion {
    /// After one more look: the new suspicion, and whether it is enough.
    fn after(self, health: PrimaryHealth) -> (Self, bool) {
        let next = match health {
            PrimaryHealth::Answers { .. } => Self::default(),
            PrimaryHealth::Gone => Self {
                gone: self.gone + 1,
                silent: self.silent + 1,
            },
            PrimaryHealth::Silent => Self {
                gone: 0,
                silent: self.silent + 1,
            },
        };
        (next, next.enough())
    }

    fn enough(self) -> bool {
        self.gone >= GONE_LOOKS || self.silent >= SILENT_LOOKS
    }
}

/// Looks until the task is aborted.
pub async fn every(
    cms: PgPool,
    client: Client,
    platform: Arc<dyn Platform>,
    health_check_interval_secs: u64,
) {
    let mut suspicions: HashMap<Uuid, Suspicion> = HashMap::new();
    // Where each primary's WAL reached at the last look that found it answering.
    let mut reached: HashMap<Uuid, u64> = HashMap::new();
    let mut ticks = tokio::time::interval(LOOK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let watched = match instances::running_with_standbys(&cms).await {
            Ok(records) => records,
            Err(error) => {
                tracing::debug!(%error, "failure detection: the instances could not be listed");
                continue;
            }
        };
        suspicions.retain(|id, _| watched.iter().any(|record| record.id == *id));
        reached.retain(|id, _| watched.iter().any(|record| record.id == *id));
        for (record, health) in look(&platform, watched).await {
            if let PrimaryHealth::Answers {
                wal_position: Some(position),
            } = health
            {
                reached.insert(record.id, position);
            }
            let before = suspicions.get(&record.id).copied().unwrap_or_default();
            let (suspicion, enough) = before.after(health);
            suspicions.insert(record.id, suspicion);
            if before == Suspicion::default() && suspicion != before {
                tracing::warn!(instance = %record.name, ?health, "the primary does not answer");
            }
            if enough && a_standby_answers(platform.as_ref(), &record, !before.enough()).await {
                suspicions.remove(&record.id);
                let primary_wal_position = reached.remove(&record.id);
                start_failover(
                    &cms,
                    &client,
                    &record,
                    health_check_interval_secs,
                    primary_wal_position,
                )
                .await;
            }
        }
    }
}

/// The primary's health of every record, looked at concurrently; a record the platform
/// cannot tell about is left out.
async fn look(
    platform: &Arc<dyn Platform>,
    records: Vec<InstanceRecord>,
) -> Vec<(InstanceRecord, PrimaryHealth)> {
    let mut looks = JoinSet::new();
    for record in records {
        let platform = Arc::clone(platform);
        looks.spawn(async move {
            let name = InstanceName::parse(record.name.as_str()).ok()?;
            match platform.primary_health(&name).await {
                Ok(health) => Some((record, health)),
                Err(error) => {
                    tracing::debug!(instance = %name, %error, "failure detection: no answer from the platform");
                    None
                }
            }
        });
    }
    let mut seen = Vec::new();
    while let Some(joined) = looks.join_next().await {
        if let Ok(Some(look)) = joined {
            seen.push(look);
        }
    }
    seen
}

/// Whether a standby of `record` answers, so a failover has something to promote (said in
/// the log when `first`, the first time the primary's failure is certain).
async fn a_standby_answers(platform: &dyn Platform, record: &InstanceRecord, first: bool) -> bool {
    let Ok(name) = InstanceName::parse(record.name.as_str()) else {
        return false;
    };
    let answering = platform.members(&name).await.is_ok_and(|members| {
        members.iter().any(|m| {
            m.role == MemberRole::Standby
                && matches!(m.state, MemberState::Streaming | MemberState::Disconnected)
        })
    });
    if !answering && first {
        tracing::warn!(instance = %name, "the primary has failed and no standby answers: nothing to fail over to");
    }
    answering
}

/// Moves the record to `failing_over` and starts the failover; nothing when another
/// server (or an operation) has the record already.
async fn start_failover(
    cms: &PgPool,
    client: &Client,
    record: &InstanceRecord,
    health_check_interval_secs: u64,
    primary_wal_position: Option<u64>,
) {
    let operation = InstanceOperation::Failover;
    let id =
        names::instance_ids::operation(operation.record_operation(), record.id, Uuid::new_v4());
    let change = Change {
        operation_orchestration_id: Some(&id),
        ..Change::default()
    };
    let moved =
        instances::transition(cms, record.id, InstanceState::FailingOver, &change, &id).await;
    match moved {
        Ok(Transition::Applied { .. }) => {}
        Ok(other) => {
            tracing::info!(instance = %record.name, ?other, "failover not started: the record moved on");
            return;
        }
        Err(error) => {
            tracing::error!(instance = %record.name, %error, "failover not started: the record could not be moved");
            return;
        }
    }
    let started = async {
        let input = FailoverInput {
            operation: operation_input(record, health_check_interval_secs)?,
            primary_wal_position,
        };
        client
            .start_orchestration_typed(&id, operation.orchestration(), input)
            .await?;
        anyhow::Ok(())
    };
    match started.await {
        Ok(()) => {
            tracing::warn!(instance = %record.name, orchestration_id = %id, "failover started");
        }
        Err(error) => {
            tracing::error!(instance = %record.name, orchestration_id = %id, %error, "failover not started; reconciliation will start it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(looks: &[PrimaryHealth]) -> bool {
        let mut suspicion = Suspicion::default();
        let mut enough = false;
        for health in looks {
            (suspicion, enough) = suspicion.after(*health);
        }
        enough
    }

    #[test]
    fn a_gone_process_is_enough_sooner_than_silence_and_an_answer_clears_both() {
        use PrimaryHealth::{Gone, Silent};
        const ANSWERS: PrimaryHealth = PrimaryHealth::Answers {
            wal_position: Some(0x3000060),
        };
        assert!(!after(&[Gone]));
        assert!(after(&[Gone, Gone]));
        assert!(!after(&[Silent, Silent, Silent]));
        assert!(after(&[Silent, Silent, Silent, Silent]));
        assert!(after(&[Silent, Silent, Gone, Gone]));
        assert!(!after(&[Gone, ANSWERS, Gone]));
        assert!(!after(&[Silent, Silent, Silent, ANSWERS, Silent]));
    }
}
