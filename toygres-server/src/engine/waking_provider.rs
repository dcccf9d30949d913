//! duroxide-pg behind a wrapper that turns polling into waiting.
//!
//! duroxide's dispatchers call `fetch_*` in a loop, and duroxide-pg answers at once, so an
//! idle dispatcher sleeps its poll interval between queries and every step of a workflow
//! waits about one interval before anyone picks it up. This wrapper makes `fetch_*` a long
//! poll instead: when the store has nothing, it waits until a write makes work visible (a
//! [`Wakeups`] generation moves), until known delayed work is due, or until the poll
//! timeout, and then asks the store again. Every write method signals what it made visible
//! after it returns, in this process and (through the [`Bridge`]) to other servers. All
//! other methods delegate unchanged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use duroxide::providers::{
    DispatcherCapabilityFilter, ExecutionMetadata, OrchestrationItem, Provider, ProviderAdmin,
    ProviderError, ScheduledActivityIdentifier, SessionFetchConfig, TagFilter, WorkItem,
};
use duroxide::{Event, SystemStats};
use duroxide_pg::PostgresProvider;
use tokio::time::Instant;

use super::bridge::Bridge;
use super::wakeups::{Signal, TagWanted, Wakeups, now_ms, tags_moved};

pub struct WakingProvider {
    inner: Arc<PostgresProvider>,
    wakeups: Arc<Wakeups>,
    bridge: Bridge,
}

impl WakingProvider {
    pub fn new(inner: Arc<PostgresProvider>, wakeups: Arc<Wakeups>, bridge: Bridge) -> Self {
        Self {
            inner,
            wakeups,
            bridge,
        }
    }

    fn signal(&self, signal: Signal) {
        self.wakeups.apply(&signal);
        if !signal.is_empty() {
            self.bridge.send(signal);
        }
    }
}

/// Adds what `item`, enqueued for the orchestrator with `delay`, makes visible: a timer
/// becomes visible when it fires, a delayed message after its delay (duroxide-pg takes the
/// later of the two), anything else now.
fn orchestrator_item(signal: &mut Signal, item: &WorkItem, delay: Option<Duration>) {
    let fires_at = match item {
        WorkItem::TimerFired { fire_at_ms, .. } if *fire_at_ms > 0 => Some(*fire_at_ms),
        _ => None,
    };
    orchestrator_visible(signal, fires_at, delay);
}

fn orchestrator_visible(signal: &mut Signal, at_ms: Option<u64>, delay: Option<Duration>) {
    let delayed_until = delay
        .filter(|d| !d.is_zero())
        .map(|d| now_ms() + d.as_millis() as u64);
    match at_ms.max(delayed_until) {
        Some(due) if due > now_ms() => signal.orchestrator_due_ms.push(due),
        _ => signal.orchestrator = true,
    }
}

fn worker_item(signal: &mut Signal, item: &WorkItem) {
    let tag = match item {
        WorkItem::ActivityExecute { tag, .. } => tag.clone(),
        _ => None,
    };
    if !signal.worker_tags.contains(&tag) {
        signal.worker_tags.push(tag);
    }
}

/// Sleeps until `deadline`, or earlier when delayed work becomes due.
async fn sleep_until_due(deadline: Instant, due_in: Option<Duration>) {
    let wake = due_in.map_or(deadline, |due| deadline.min(Instant::now() + due));
    tokio::time::sleep_until(wake).await;
}

#[async_trait]
impl Provider for WakingProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn version(&self) -> &str {
        self.inner.version()
    }

    async fn fetch_orchestration_item(
        &self,
        lock_timeout: Duration,
        poll_timeout: Duration,
        filter: Option<&DispatcherCapabilityFilter>,
    ) -> Result<Option<(OrchestrationItem, String, u32)>, ProviderError> {
        let deadline = Instant::now() + poll_timeout;
        let mut generation = self.wakeups.orchestrator();
        loop {
            generation.mark_unchanged();
            let fetched = self
                .inner
                .fetch_orchestration_item(lock_timeout, poll_timeout, filter)
                .await?;
            if fetched.is_some() || Instant::now() >= deadline {
                return Ok(fetched);
            }
            tokio::select! {
                _ = generation.changed() => {}
                _ = sleep_until_due(deadline, self.wakeups.until_orchestrator_due()) => {}
            }
        }
    }

    async fn ack_orchestration_item(
        &self,
        lock_token: &str,
        execution_id: u64,
        history_delta: Vec<Event>,
        worker_items: Vec<WorkItem>,
        orchestrator_items: Vec<WorkItem>,
        metadata: ExecutionMetadata,
        cancelled_activities: Vec<ScheduledActivityIdentifier>,
    ) -> Result<(), ProviderError> {
        // Messages that arrived for this instance while it was locked become fetchable
        // now, whatever this turn enqueued: always wake the orchestrator dispatchers.
        let mut signal = Signal {
            orchestrator: true,
            ..Signal::default()
        };
        worker_items
            .iter()
            .for_each(|item| worker_item(&mut signal, item));
        orchestrator_items
            .iter()
            .for_each(|item| orchestrator_item(&mut signal, item, None));
        self.inner
            .ack_orchestration_item(
                lock_token,
                execution_id,
                history_delta,
                worker_items,
                orchestrator_items,
                metadata,
                cancelled_activities,
            )
            .await?;
        self.signal(signal);
        Ok(())
    }

    async fn abandon_orchestration_item(
        &self,
        lock_token: &str,
        delay: Option<Duration>,
        ignore_attempt: bool,
    ) -> Result<(), ProviderError> {
        self.inner
            .abandon_orchestration_item(lock_token, delay, ignore_attempt)
            .await?;
        let mut signal = Signal::default();
        orchestrator_visible(&mut signal, None, delay);
        self.signal(signal);
        Ok(())
    }

    async fn read(&self, instance: &str) -> Result<Vec<Event>, ProviderError> {
        self.inner.read(instance).await
    }

    async fn read_with_execution(
        &self,
        instance: &str,
        execution_id: u64,
    ) -> Result<Vec<Event>, ProviderError> {
        self.inner.read_with_execution(instance, execution_id).await
    }

    async fn append_with_execution(
        &self,
        instance: &str,
        execution_id: u64,
        new_events: Vec<Event>,
    ) -> Result<(), ProviderError> {
        self.inner
            .append_with_execution(instance, execution_id, new_events)
            .await
    }

    async fn enqueue_for_worker(&self, item: WorkItem) -> Result<(), ProviderError> {
        let mut signal = Signal::default();
        worker_item(&mut signal, &item);
        self.inner.enqueue_for_worker(item).await?;
        self.signal(signal);
        Ok(())
    }

    async fn fetch_work_item(
        &self,
        lock_timeout: Duration,
        poll_timeout: Duration,
        session: Option<&SessionFetchConfig>,
        tag_filter: &TagFilter,
    ) -> Result<Option<(WorkItem, String, u32)>, ProviderError> {
        let deadline = Instant::now() + poll_timeout;
        let wanted = TagWanted::from_filter(tag_filter);
        let mut generations = self.wakeups.worker();
        loop {
            let before = generations.borrow_and_update().clone();
            let fetched = self
                .inner
                .fetch_work_item(lock_timeout, poll_timeout, session, tag_filter)
                .await?;
            if fetched.is_some() {
                return Ok(fetched);
            }
            // Wait for work of a tag this worker takes; other tags wake it without a query.
            loop {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                tokio::select! {
                    _ = generations.changed() => {
                        if tags_moved(&before, &generations.borrow_and_update(), &wanted) {
                            break;
                        }
                    }
                    _ = sleep_until_due(deadline, self.wakeups.until_worker_due()) => break,
                }
            }
        }
    }

    async fn ack_work_item(
        &self,
        token: &str,
        completion: Option<WorkItem>,
    ) -> Result<(), ProviderError> {
        let mut signal = Signal::default();
        if let Some(item) = &completion {
            orchestrator_item(&mut signal, item, None);
        }
        self.inner.ack_work_item(token, completion).await?;
        self.signal(signal);
        Ok(())
    }

    async fn renew_work_item_lock(
        &self,
        token: &str,
        extend_for: Duration,
    ) -> Result<(), ProviderError> {
        self.inner.renew_work_item_lock(token, extend_for).await
    }

    async fn renew_session_lock(
        &self,
        owner_ids: &[&str],
        extend_for: Duration,
        idle_timeout: Duration,
    ) -> Result<usize, ProviderError> {
        self.inner
            .renew_session_lock(owner_ids, extend_for, idle_timeout)
            .await
    }

    async fn cleanup_orphaned_sessions(
        &self,
        idle_timeout: Duration,
    ) -> Result<usize, ProviderError> {
        self.inner.cleanup_orphaned_sessions(idle_timeout).await
    }

    async fn abandon_work_item(
        &self,
        token: &str,
        delay: Option<Duration>,
        ignore_attempt: bool,
    ) -> Result<(), ProviderError> {
        self.inner
            .abandon_work_item(token, delay, ignore_attempt)
            .await?;
        // The token does not say which tag the item had: wake every worker.
        let signal = match delay.filter(|d| !d.is_zero()) {
            Some(delay) => Signal {
                worker_due_ms: vec![now_ms() + delay.as_millis() as u64],
                ..Signal::default()
            },
            None => Signal {
                worker_tags: self.wakeups.worker().borrow().keys().cloned().collect(),
                ..Signal::default()
            },
        };
        self.signal(signal);
        Ok(())
    }

    async fn renew_orchestration_item_lock(
        &self,
        token: &str,
        extend_for: Duration,
    ) -> Result<(), ProviderError> {
        self.inner
            .renew_orchestration_item_lock(token, extend_for)
            .await
    }

    async fn enqueue_for_orchestrator(
        &self,
        item: WorkItem,
        delay: Option<Duration>,
    ) -> Result<(), ProviderError> {
        let mut signal = Signal::default();
        orchestrator_item(&mut signal, &item, delay);
        self.inner.enqueue_for_orchestrator(item, delay).await?;
        self.signal(signal);
        Ok(())
    }

    fn as_management_capability(&self) -> Option<&dyn ProviderAdmin> {
        self.inner.as_management_capability()
    }

    async fn get_custom_status(
        &self,
        instance: &str,
        last_seen_version: u64,
    ) -> Result<Option<(Option<String>, u64)>, ProviderError> {
        self.inner
            .get_custom_status(instance, last_seen_version)
            .await
    }

    async fn get_kv_value(
        &self,
        instance: &str,
        key: &str,
    ) -> Result<Option<String>, ProviderError> {
        self.inner.get_kv_value(instance, key).await
    }

    async fn get_kv_all_values(
        &self,
        instance: &str,
    ) -> Result<HashMap<String, String>, ProviderError> {
        self.inner.get_kv_all_values(instance).await
    }

    async fn get_instance_stats(
        &self,
        instance: &str,
    ) -> Result<Option<SystemStats>, ProviderError> {
        self.inner.get_instance_stats(instance).await
    }
}
