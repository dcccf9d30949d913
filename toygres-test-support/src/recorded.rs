//! Recorded histories: what an older build wrote into the store, kept as fixtures and
//! loaded into a fresh store so the current build must carry it on.
//!
//! A fixture is the event list of one execution as `Client::read_execution_history`
//! returned it, cut at a point where work was pending. Loading it goes through duroxide's
//! own provider calls, exactly as a runtime would have written it: start the instance
//! pinned to the recorded version, then acknowledge its first turn with the recorded
//! events and, as worker items, every activity the history scheduled but never completed
//! (and every timer it set that never fired, due at its recorded time).
//! A runtime started afterwards picks the instance up mid-flight.

use std::path::{Path, PathBuf};
use std::time::Duration;

use duroxide::providers::{ExecutionMetadata, WorkItem};
use duroxide::{Event, EventKind};
use serde::{Deserialize, Serialize};
use toygres_server::engine::Store;

/// One recorded execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedHistory {
    /// How it was made, for a person reading the file.
    pub recorded_by: String,
    pub orchestration: String,
    pub version: String,
    pub instance: String,
    pub events: Vec<Event>,
}

impl RecordedHistory {
    pub fn load(path: &Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn save(&self, path: &Path) {
        let text = serde_json::to_string_pretty(self).expect("a history encodes");
        std::fs::write(path, text + "\n")
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// The same history with every occurrence of `from` replaced by `to` (ids and names
    /// that belong to the test that recorded it, in instance ids, inputs and results).
    pub fn replacing(&self, from: &str, to: &str) -> Self {
        let text = serde_json::to_string(self)
            .expect("a history encodes")
            .replace(from, to);
        serde_json::from_str(&text).expect("a history still decodes")
    }

    /// Writes the history into the store at `url` as its recorded version left it.
    pub async fn restore(&self, url: &str) {
        let store = Store::open(url).await.expect("the duroxide store");
        let provider = store.provider();
        let input = self
            .events
            .iter()
            .find_map(|event| match &event.kind {
                EventKind::OrchestrationStarted { input, .. } => Some(input.clone()),
                _ => None,
            })
            .expect("a recorded history starts with OrchestrationStarted");
        provider
            .enqueue_for_orchestrator(
                WorkItem::StartOrchestration {
                    instance: self.instance.clone(),
                    orchestration: self.orchestration.clone(),
                    input,
                    version: Some(self.version.clone()),
                    parent_instance: None,
                    parent_id: None,
                    parent_execution_id: None,
                    execution_id: 1,
                },
                None,
            )
            .await
            .expect("enqueue the start");
        let (_, lock_token, _) = provider
            .fetch_orchestration_item(Duration::from_secs(30), Duration::ZERO, None)
            .await
            .expect("fetch the start")
            .expect("the start is there");
        let metadata = ExecutionMetadata {
            orchestration_name: Some(self.orchestration.clone()),
            orchestration_version: Some(self.version.clone()),
            ..ExecutionMetadata::default()
        };
        provider
            .ack_orchestration_item(
                &lock_token,
                1,
                self.events.clone(),
                self.pending_activities(),
                self.pending_timers(),
                metadata,
                Vec::new(),
            )
            .await
            .expect("write the recorded history");
    }

    /// Activities the history scheduled and never saw complete or fail.
    fn pending_activities(&self) -> Vec<WorkItem> {
        self.events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::ActivityScheduled {
                    name, input, tag, ..
                } if !self.completed(event.event_id) => Some(WorkItem::ActivityExecute {
                    instance: self.instance.clone(),
                    execution_id: event.execution_id,
                    id: event.event_id,
                    name: name.clone(),
                    input: input.clone(),
                    session_id: None,
                    tag: tag.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Timers the history created and never saw fire: due at the time they were set for
    /// (long past, for a fixture, so they fire at once).
    fn pending_timers(&self) -> Vec<WorkItem> {
        self.events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::TimerCreated { fire_at_ms } if !self.fired(event.event_id) => {
                    Some(WorkItem::TimerFired {
                        instance: self.instance.clone(),
                        execution_id: event.execution_id,
                        id: event.event_id,
                        fire_at_ms: *fire_at_ms,
                    })
                }
                _ => None,
            })
            .collect()
    }

    fn fired(&self, created: u64) -> bool {
        self.events.iter().any(|event| {
            event.source_event_id == Some(created)
                && matches!(event.kind, EventKind::TimerFired { .. })
        })
    }

    fn completed(&self, scheduled: u64) -> bool {
        self.events.iter().any(|event| {
            event.source_event_id == Some(scheduled)
                && matches!(
                    event.kind,
                    EventKind::ActivityCompleted { .. } | EventKind::ActivityFailed { .. }
                )
        })
    }
}

/// Where a crate's recorded histories live.
pub fn fixtures_dir(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("tests/fixtures")
}
