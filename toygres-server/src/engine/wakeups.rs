//! Wake-ups for duroxide's dispatchers, so a step is picked up when it is enqueued instead
//! of at the next poll.
//!
//! Every write that makes work visible bumps a generation counter here: one for the
//! orchestrator queue, one per activity tag for the worker queue, and one for "something
//! changed" (which API watchers follow). Work that becomes visible later (a durable timer,
//! an abandoned item with a delay) is remembered by its due time, so a waiting fetch wakes
//! exactly then. Other servers sharing the store learn of the same writes through
//! `NOTIFY` on [`CHANNEL`]; this process listens and applies what they send.
//!
//! Nothing here is needed for correctness: a fetch also gives up waiting after its poll
//! timeout and queries again, so a lost notification only costs latency.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The `LISTEN`/`NOTIFY` channel servers sharing one store use.
pub const CHANNEL: &str = "toygres_duroxide_wakeup";

/// At most this many future due times are remembered per queue; beyond it the latest are
/// dropped (the fallback poll covers them).
const MAX_DUE_TIMES: usize = 100_000;

/// The worker queue's generations, per activity tag (`None` is the untagged queue).
pub type TagGenerations = BTreeMap<Option<String>, u64>;

/// What one write made visible.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// Orchestrator-queue work is visible now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orchestrator: bool,
    /// Worker-queue work is visible now, for these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_tags: Vec<Option<String>>,
    /// Orchestrator-queue work becomes visible at these times (Unix ms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orchestrator_due_ms: Vec<u64>,
    /// Worker-queue work (of any tag) becomes visible at these times (Unix ms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_due_ms: Vec<u64>,
}

impl Signal {
    pub fn is_empty(&self) -> bool {
        *self == Signal::default()
    }

    /// Folds `other` into `self`, so many writes can travel as one notification.
    pub fn merge(&mut self, other: Signal) {
        self.orchestrator |= other.orchestrator;
        for tag in other.worker_tags {
            if !self.worker_tags.contains(&tag) {
                self.worker_tags.push(tag);
            }
        }
        self.orchestrator_due_ms.extend(other.orchestrator_due_ms);
        self.worker_due_ms.extend(other.worker_due_ms);
    }
}

/// The in-process side: generations to wait on and due times to wake at.
pub struct Wakeups {
    orchestrator: watch::Sender<u64>,
    worker: watch::Sender<TagGenerations>,
    changes: watch::Sender<u64>,
    orchestrator_due: Mutex<BTreeSet<u64>>,
    worker_due: Mutex<BTreeSet<u64>>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Self {
            orchestrator: watch::Sender::new(0),
            worker: watch::Sender::new(TagGenerations::new()),
            changes: watch::Sender::new(0),
            orchestrator_due: Mutex::new(BTreeSet::new()),
            worker_due: Mutex::new(BTreeSet::new()),
        }
    }
}

impl Wakeups {
    /// Applies a signal from this process or another server.
    pub fn apply(&self, signal: &Signal) {
        remember(&self.orchestrator_due, &signal.orchestrator_due_ms);
        remember(&self.worker_due, &signal.worker_due_ms);
        if signal.orchestrator || !signal.orchestrator_due_ms.is_empty() {
            self.orchestrator.send_modify(|generation| *generation += 1);
        }
        if !signal.worker_tags.is_empty() || !signal.worker_due_ms.is_empty() {
            self.worker.send_modify(|generations| {
                for tag in &signal.worker_tags {
                    *generations.entry(tag.clone()).or_default() += 1;
                }
            });
        }
        self.changes.send_modify(|generation| *generation += 1);
    }

    /// Wakes every waiter once: after notifications may have been missed.
    pub fn wake_all(&self) {
        self.orchestrator.send_modify(|generation| *generation += 1);
        self.worker.send_modify(|generations| {
            for generation in generations.values_mut() {
                *generation += 1;
            }
            *generations.entry(None).or_default() += 1;
        });
        self.changes.send_modify(|generation| *generation += 1);
    }

    pub fn orchestrator(&self) -> watch::Receiver<u64> {
        self.orchestrator.subscribe()
    }

    pub fn worker(&self) -> watch::Receiver<TagGenerations> {
        self.worker.subscribe()
    }

    /// Bumped by every write to the store, here or on another server.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// How long until the next delayed orchestrator work is due, if any is known.
    pub fn until_orchestrator_due(&self) -> Option<Duration> {
        until_next(&self.orchestrator_due)
    }

    /// How long until the next delayed worker work is due, if any is known.
    pub fn until_worker_due(&self) -> Option<Duration> {
        until_next(&self.worker_due)
    }
}

fn remember(due: &Mutex<BTreeSet<u64>>, times: &[u64]) {
    if times.is_empty() {
        return;
    }
    let mut due = due.lock().expect("due times lock");
    due.extend(times.iter().copied());
    while due.len() > MAX_DUE_TIMES {
        due.pop_last();
    }
}

/// Forgets due times that have passed and returns how long until the next one.
fn until_next(due: &Mutex<BTreeSet<u64>>) -> Option<Duration> {
    let now = now_ms();
    let mut due = due.lock().expect("due times lock");
    while due.first().is_some_and(|&first| first < now) {
        due.pop_first();
    }
    // One millisecond late, so the store sees the item as visible when we look.
    due.first()
        .map(|&first| Duration::from_millis(first - now + 1))
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Whether `before` and `now` differ for any tag a worker with `wanted` takes.
pub fn tags_moved(before: &TagGenerations, now: &TagGenerations, wanted: &TagWanted) -> bool {
    now.iter()
        .any(|(tag, generation)| wanted.takes(tag) && before.get(tag) != Some(generation))
}

/// Which tags a worker takes, decided once per fetch from duroxide's `TagFilter`.
pub enum TagWanted {
    Any,
    Only(Vec<Option<String>>),
}

impl TagWanted {
    pub fn from_filter(filter: &duroxide::providers::TagFilter) -> Self {
        use duroxide::providers::TagFilter;
        match filter {
            TagFilter::DefaultOnly => Self::Only(vec![None]),
            TagFilter::Tags(tags) => Self::Only(tags.iter().cloned().map(Some).collect()),
            TagFilter::DefaultAnd(tags) => Self::Only(
                std::iter::once(None)
                    .chain(tags.iter().cloned().map(Some))
                    .collect(),
            ),
            TagFilter::Any => Self::Any,
            TagFilter::None => Self::Only(Vec::new()),
        }
    }

    fn takes(&self, tag: &Option<String>) -> bool {
        match self {
            Self::Any => true,
            Self::Only(tags) => tags.contains(tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_round_trips_through_its_notification_payload() {
        let signal = Signal {
            orchestrator: true,
            worker_tags: vec![None, Some("platform".into())],
            orchestrator_due_ms: vec![42],
            worker_due_ms: vec![],
        };
        let payload = serde_json::to_string(&signal).unwrap();
        assert_eq!(serde_json::from_str::<Signal>(&payload).unwrap(), signal);
    }

    #[test]
    fn a_worker_wakes_only_for_its_own_tags() {
        let wakeups = Wakeups::default();
        let before = wakeups.worker().borrow().clone();
        wakeups.apply(&Signal {
            worker_tags: vec![Some("platform".into())],
            ..Signal::default()
        });
        let now = wakeups.worker().borrow().clone();
        assert!(tags_moved(
            &before,
            &now,
            &TagWanted::Only(vec![Some("platform".into())])
        ));
        assert!(!tags_moved(&before, &now, &TagWanted::Only(vec![None])));
        assert!(tags_moved(&before, &now, &TagWanted::Any));
    }

    #[test]
    fn due_times_in_the_past_are_forgotten() {
        let wakeups = Wakeups::default();
        wakeups.apply(&Signal {
            orchestrator_due_ms: vec![1, now_ms() + 60_000],
            ..Signal::default()
        });
        let next = wakeups.until_orchestrator_due().unwrap();
        assert!(next > Duration::from_secs(59) && next <= Duration::from_secs(61));
        assert!(wakeups.until_worker_due().is_none());
    }
}
