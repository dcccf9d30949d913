//! Dead standbys, noticed and reported to the instance's actor, which rebuilds them.
//!
//! Every [`LOOK_EVERY`] the server lists each running instance with standbys and asks the
//! platform for its members. A standby whose server is not running ([`MemberState::Stopped`]:
//! killed, crashed, its data directory gone) at [`DOWN_LOOKS`] looks in a row, while the
//! primary runs, is reported: `StandbysDown` is queued to the instance's actor
//! (instance-actor 1.2.0), which runs `rejoin-standbys`, a durable step fenced by the
//! record's `running` state, so a stop, switchover or delete that began meanwhile wins. A
//! standby that runs but does not answer is left alone (it may be recovering), and so is an
//! instance whose primary is down: that is failover's business. Nothing is written while
//! every member runs; several servers may report the same standby, and the rebuild is
//! repeatable.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use duroxide::Client;
use sqlx::PgPool;
use tokio::task::JoinSet;
use toygres_cms::instances::{self, InstanceRecord};
use toygres_domain::{InstanceName, MemberRole, MemberState};
use toygres_orchestrations::names::{events, instance_ids};
use toygres_orchestrations::types::StandbysDown;
use toygres_platform::{Member, Platform};
use uuid::Uuid;

/// How often every watched instance's members are looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(2);
/// Looks in a row that find a standby's server not running before it is reported.
pub const DOWN_LOOKS: u32 = 2;

/// Looks in a row that found each standby down, by record and member number.
#[derive(Debug, Default)]
struct DownLooks(HashMap<(Uuid, u8), u32>);

impl DownLooks {
    /// After one more look at `record`'s `members`: the standbys to report now (their
    /// count starts again, so a standby still down is reported again [`DOWN_LOOKS`] later).
    fn after(&mut self, record: Uuid, members: &[Member]) -> Vec<String> {
        let primary_runs = members
            .iter()
            .any(|m| m.role == MemberRole::Primary && m.state == MemberState::Running);
        let mut due = Vec::new();
        for member in members.iter().filter(|m| m.role == MemberRole::Standby) {
            let key = (record, member.number);
            if !primary_runs || member.state != MemberState::Stopped {
                self.0.remove(&key);
                continue;
            }
            let looks = self.0.entry(key).or_default();
            *looks += 1;
            if *looks >= DOWN_LOOKS {
                *looks = 0;
                due.push(member.name.clone());
            }
        }
        due
    }

    /// Forgets records no longer watched.
    fn keep_only(&mut self, records: &[InstanceRecord]) {
        self.0
            .retain(|(id, _), _| records.iter().any(|record| record.id == *id));
    }
}

/// Looks until the task is aborted.
pub async fn every(cms: PgPool, client: Client, platform: Arc<dyn Platform>) {
    let mut down = DownLooks::default();
    let mut ticks = tokio::time::interval(LOOK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Ok(watched) = instances::running_with_standbys(&cms).await else {
            continue;
        };
        down.keep_only(&watched);
        for (record, name, members) in look(&platform, watched).await {
            let due = down.after(record.id, &members);
            if !due.is_empty() {
                report(&client, &record, &name, due).await;
            }
        }
    }
}

/// The members of every record, looked at concurrently; a record the platform cannot tell
/// about is left out.
async fn look(
    platform: &Arc<dyn Platform>,
    records: Vec<InstanceRecord>,
) -> Vec<(InstanceRecord, InstanceName, Vec<Member>)> {
    let mut looks = JoinSet::new();
    for record in records {
        let platform = Arc::clone(platform);
        looks.spawn(async move {
            let name = InstanceName::parse(record.name.as_str()).ok()?;
            let members = platform.members(&name).await.ok()?;
            Some((record, name, members))
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

/// Queues `StandbysDown` to the record's actor.
async fn report(
    client: &Client,
    record: &InstanceRecord,
    name: &InstanceName,
    members: Vec<String>,
) {
    let actor = instance_ids::instance_actor(record.id);
    tracing::warn!(instance = %name, orchestration_id = %actor, members = %members.join(","), "standbys down while the primary runs: asking for a rebuild");
    let payload =
        serde_json::to_string(&StandbysDown { members }).expect("StandbysDown serialises");
    if let Err(error) = client
        .enqueue_event(&actor, events::STANDBYS_DOWN, payload)
        .await
    {
        tracing::warn!(instance = %name, orchestration_id = %actor, %error, "the actor could not be told of its standbys");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(number: u8, role: MemberRole, state: MemberState) -> Member {
        Member {
            name: format!("shop-{number}"),
            number,
            role,
            host: "127.0.0.1".into(),
            port: 5000 + u16::from(number),
            state,
            lag_bytes: None,
            wal_position: None,
            timeline: Some(1),
        }
    }

    #[test]
    fn a_standby_down_twice_while_the_primary_runs_is_reported_and_counted_again() {
        let record = Uuid::new_v4();
        let primary = member(1, MemberRole::Primary, MemberState::Running);
        let dead = member(2, MemberRole::Standby, MemberState::Stopped);
        let fine = member(3, MemberRole::Standby, MemberState::Streaming);
        let members = [primary.clone(), dead.clone(), fine.clone()];
        let mut down = DownLooks::default();
        assert!(down.after(record, &members).is_empty());
        assert_eq!(down.after(record, &members), ["shop-2"]);
        assert!(down.after(record, &members).is_empty(), "counted again");
        assert_eq!(down.after(record, &members), ["shop-2"]);

        // Back in between: the count starts again.
        assert!(down.after(record, &members).is_empty());
        let back = member(2, MemberRole::Standby, MemberState::Streaming);
        assert!(down.after(record, &[primary.clone(), back]).is_empty());
        assert!(down.after(record, &members).is_empty());
    }

    #[test]
    fn nothing_is_reported_while_the_primary_is_down_or_a_standby_only_silent() {
        let record = Uuid::new_v4();
        let gone = member(1, MemberRole::Primary, MemberState::Stopped);
        let dead = member(2, MemberRole::Standby, MemberState::Stopped);
        let mut down = DownLooks::default();
        for _ in 0..4 {
            assert!(down.after(record, &[gone.clone(), dead.clone()]).is_empty());
        }
        let primary = member(1, MemberRole::Primary, MemberState::Running);
        let silent = member(2, MemberRole::Standby, MemberState::Unreachable);
        for _ in 0..4 {
            assert!(
                down.after(record, &[primary.clone(), silent.clone()])
                    .is_empty()
            );
        }
    }
}
