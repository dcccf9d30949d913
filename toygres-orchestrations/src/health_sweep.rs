//! The health sweep: every running instance probed every interval, with no durable step
//! per probe.
//!
//! A durable timer and a durable activity per probe (instance-actor 1.1.0) cost the
//! control database 16–24 ms of CPU per check, most of it dispatchers waking to find
//! nothing; a fleet of 200 at a 5 s interval kept it busy. The sweep is one loop per
//! server instead: each tick it lists the running records (one query), probes those not
//! still being probed (concurrently, up to [`CONCURRENT_PROBES`]), and writes what came
//! back within the tick in one statement ([`health::record_probes`]). Durable history gets
//! the changes only: for each instance whose health changed, `HealthChanged` is queued to
//! its actor (instance-actor 1.2.0), which keeps it.
//!
//! A probe that hangs (a frozen server) holds up nobody: its result, whenever it comes, is
//! written with a later tick's batch, and the instance is not probed again until then; a
//! probe that merely missed its tick's wait (a loaded machine) is taken at the start of
//! the next tick, so its instance is probed again at once rather than a tick later. Rows
//! are keyed by the time slot the probe started in, so when several servers sweep, each
//! instance still gets one row per interval. The control database is read for the list and
//! written once per tick; when it does not answer, the tick is skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use duroxide::Client;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use toygres_cms::health::{self, HealthChange, SweptProbe};
use toygres_cms::instances;
use uuid::Uuid;

use crate::Dependencies;
use crate::activities::check_health::examine;
use crate::domain::InstanceName;
use crate::names::{events, instance_ids};
use crate::types::HealthChanged;

/// Probes in flight at once: enough that a fleet's sweep fits in its interval, few enough
/// that a tick's TLS handshakes do not take every core at once.
pub const CONCURRENT_PROBES: usize = 32;

/// Of the interval, the part a tick waits for its probes before it writes their rows.
const WAIT_FOR_PROBES: f64 = 0.8;

/// Probes the running fleet every `interval`, with what `deps` reaches, and tells each
/// actor of a change through `client`, until the task is aborted.
pub struct HealthSweep {
    deps: Arc<Dependencies>,
    client: Client,
    interval: Duration,
    /// The probe in flight of each instance, by its task: a task that ends in any way
    /// (even a panic) frees its instance for the next tick.
    probing: HashMap<tokio::task::Id, (Uuid, InstanceName)>,
    probes: JoinSet<(InstanceName, SweptProbe)>,
    limit: Arc<Semaphore>,
}

impl HealthSweep {
    pub fn new(deps: Arc<Dependencies>, client: Client, interval: Duration) -> Self {
        Self {
            deps,
            client,
            interval: interval.max(Duration::from_millis(100)),
            probing: HashMap::new(),
            probes: JoinSet::new(),
            limit: Arc::new(Semaphore::new(CONCURRENT_PROBES)),
        }
    }

    /// Sweeps every interval, forever.
    pub async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.tick().await;
        }
    }

    /// One tick: take the probes that ended after the last tick's wait (so their
    /// instances are probed again now, not a tick later), probe, wait for most of the
    /// interval at most, record, tell.
    async fn tick(&mut self) {
        let late = self.finished();
        match instances::running(&self.deps.cms).await {
            Ok(running) => self.probe(running),
            Err(error) => {
                tracing::debug!(%error, "health sweep: the instances could not be listed")
            }
        }
        let mut ended = late;
        ended.extend(self.collect().await);
        let (names, probed): (HashMap<Uuid, InstanceName>, Vec<SweptProbe>) = newest_of_each(ended)
            .into_iter()
            .map(|(name, probe)| ((probe.instance_id, name), probe))
            .unzip();
        if probed.is_empty() {
            return;
        }
        match health::record_probes(&self.deps.cms, &probed).await {
            Ok(changes) => {
                for change in changes {
                    if let Some(name) = names.get(&change.instance_id) {
                        self.tell(name, change).await;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, probes = probed.len(), "health sweep: the probes could not be recorded");
            }
        }
    }

    /// Starts a probe of each running instance not already being probed.
    fn probe(&mut self, running: Vec<(Uuid, String)>) {
        let slot = slot_key(SystemTime::now(), self.interval);
        for (id, name) in running {
            let Ok(name) = InstanceName::parse(&name) else {
                continue;
            };
            if self.probing.values().any(|(probing, _)| *probing == id) {
                continue;
            }
            let deps = Arc::clone(&self.deps);
            let limit = Arc::clone(&self.limit);
            let probe_key = slot.clone();
            let watched = (id, name.clone());
            let task = self.probes.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let actor = instance_ids::instance_actor(id);
                let probe = examine(&deps, &name, |warning| {
                    tracing::debug!(instance = %name, orchestration_id = %actor, "{warning}");
                })
                .await;
                let probed = SweptProbe {
                    instance_id: id,
                    probe_key,
                    probe,
                    at: chrono::Utc::now(),
                };
                (name, probed)
            });
            self.probing.insert(task.id(), watched);
        }
    }

    /// The probes that end within this tick's share of the interval.
    async fn collect(&mut self) -> Vec<(InstanceName, SweptProbe)> {
        let deadline = tokio::time::Instant::now() + self.interval.mul_f64(WAIT_FOR_PROBES);
        let mut probed = Vec::new();
        while let Ok(Some(joined)) =
            tokio::time::timeout_at(deadline, self.probes.join_next_with_id()).await
        {
            probed.extend(self.ended(joined));
        }
        probed
    }

    /// The probes that have ended by now, without waiting.
    fn finished(&mut self) -> Vec<(InstanceName, SweptProbe)> {
        let mut probed = Vec::new();
        while let Some(joined) = self.probes.try_join_next_with_id() {
            probed.extend(self.ended(joined));
        }
        probed
    }

    /// Frees the instance of a probe task that ended; its result, when it has one.
    fn ended(
        &mut self,
        joined: Result<(tokio::task::Id, (InstanceName, SweptProbe)), tokio::task::JoinError>,
    ) -> Option<(InstanceName, SweptProbe)> {
        match joined {
            Ok((task, done)) => {
                self.probing.remove(&task);
                Some(done)
            }
            Err(failed) => {
                if let Some((id, name)) = self.probing.remove(&failed.id()) {
                    let actor = instance_ids::instance_actor(id);
                    tracing::error!(instance = %name, orchestration_id = %actor, error = %failed, "health sweep: the probe ended abnormally; probed again next tick");
                }
                None
            }
        }
    }

    /// Queues the change to the instance's actor, which records it in its history.
    async fn tell(&self, name: &InstanceName, change: HealthChange) {
        let actor = instance_ids::instance_actor(change.instance_id);
        let changed = HealthChanged {
            from: change.from,
            to: change.to,
            reason: change.reason,
        };
        tracing::info!(instance = %name, orchestration_id = %actor, "{changed}");
        let payload = serde_json::to_string(&changed).expect("a HealthChanged serialises");
        if let Err(error) = self
            .client
            .enqueue_event(&actor, events::HEALTH_CHANGED, payload)
            .await
        {
            tracing::warn!(instance = %name, orchestration_id = %actor, %error, "health sweep: the actor could not be told");
        }
    }
}

/// Of the probes that ended, the newest of each instance: a probe that missed the last
/// tick's wait and the one started after it may end in the same tick, and a tick records
/// one probe per instance (one summary, one change).
fn newest_of_each(ended: Vec<(InstanceName, SweptProbe)>) -> Vec<(InstanceName, SweptProbe)> {
    let mut newest: HashMap<Uuid, (InstanceName, SweptProbe)> = HashMap::new();
    for (name, probe) in ended {
        match newest.get(&probe.instance_id) {
            Some((_, kept)) if kept.at >= probe.at => {}
            _ => {
                newest.insert(probe.instance_id, (name, probe));
            }
        }
    }
    newest.into_values().collect()
}

/// The key of the rows of probes started at `now`: the number of the interval-long slot
/// since the epoch, and the interval, so sweeps at different intervals never collide.
fn slot_key(now: SystemTime, interval: Duration) -> String {
    let millis = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let every = interval.as_millis().max(1);
    format!("sweep/{every}/{}", millis / every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_records_the_newest_probe_of_each_instance() {
        let probe = |id: Uuid, ok: bool, secs: i64| {
            let name = InstanceName::parse("shop").unwrap();
            let probe = SweptProbe {
                instance_id: id,
                probe_key: format!("sweep/1000/{secs}"),
                probe: toygres_cms::health::Probe {
                    ok,
                    latency_ms: None,
                    message: None,
                    wal_archived_until: None,
                },
                at: chrono::DateTime::from_timestamp(secs, 0).unwrap(),
            };
            (name, probe)
        };
        let (shop, other) = (Uuid::new_v4(), Uuid::new_v4());
        let kept = newest_of_each(vec![
            probe(shop, true, 20),
            probe(shop, false, 10),
            probe(other, false, 15),
        ]);
        let mut kept: Vec<(Uuid, bool)> = kept
            .into_iter()
            .map(|(_, p)| (p.instance_id, p.probe.ok))
            .collect();
        kept.sort();
        let mut expected = vec![(shop, true), (other, false)];
        expected.sort();
        assert_eq!(kept, expected);
    }

    #[test]
    fn probes_in_one_slot_share_a_key_and_the_next_slot_has_its_own() {
        let at = |millis: u64| UNIX_EPOCH + Duration::from_millis(millis);
        let five = Duration::from_secs(5);
        assert_eq!(slot_key(at(10_000), five), "sweep/5000/2");
        assert_eq!(slot_key(at(14_999), five), slot_key(at(10_000), five));
        assert_eq!(slot_key(at(15_000), five), "sweep/5000/3");
        assert_ne!(
            slot_key(at(10_000), Duration::from_secs(1)),
            slot_key(at(10_000), five)
        );
    }
}
