//! One pass of the history pruner: keeps the store and the CMS from growing without bound.
//!
//! - Old executions: every `continue_as_new` starts a new execution and duroxide keeps the
//!   earlier ones; for every running orchestration, all but the newest `keep_executions`
//!   go (the current one is always kept).
//! - Finished orchestrations older than the retention are deleted with their history.
//! - Health checks older than their retention are deleted.
//!
//! Each part is idempotent (it removes what is past a line), so a re-run only finds less.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use duroxide::{ActivityContext, InstanceFilter, PruneOptions};

use crate::Dependencies;
use crate::activity_types::{PruneHistoryInput, PruneReport};
use toygres_cms::health;

pub const NAME: &str = crate::names::activities::PRUNE_HISTORY;

/// Orchestrations handed to one bulk call.
const BATCH: usize = 200;
/// Health rows removed per statement.
const HEALTH_BATCH: i64 = 10_000;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: PruneHistoryInput,
) -> Result<PruneReport, String> {
    let client = ctx.get_client();
    let mut report = PruneReport::default();
    let running = client
        .list_instances_by_status("Running")
        .await
        .map_err(|e| format!("listing running orchestrations: {e}"))?;
    for batch in running.chunks(BATCH) {
        let filter = InstanceFilter {
            instance_ids: Some(batch.to_vec()),
            completed_before: None,
            limit: Some(batch.len() as u32),
        };
        let options = PruneOptions {
            keep_last: Some(input.keep_executions.max(1)),
            completed_before: None,
        };
        let pruned = client
            .prune_executions_bulk(filter, options)
            .await
            .map_err(|e| format!("pruning executions: {e}"))?;
        report.executions_deleted += pruned.executions_deleted;
    }
    let finished_before = ago(input.orchestration_retention_secs);
    loop {
        let filter = InstanceFilter {
            instance_ids: None,
            completed_before: Some(finished_before.as_millis() as u64),
            limit: Some(BATCH as u32),
        };
        let deleted = client
            .delete_instance_bulk(filter)
            .await
            .map_err(|e| format!("deleting finished orchestrations: {e}"))?;
        report.orchestrations_deleted += deleted.instances_deleted;
        if deleted.instances_deleted < BATCH as u64 {
            break;
        }
    }
    let checked_before = chrono::DateTime::from_timestamp_millis(
        ago(input.health_retention_secs).as_millis() as i64,
    )
    .unwrap_or_default();
    report.health_checks_deleted = health::trim(&deps.cms, checked_before, HEALTH_BATCH)
        .await
        .map_err(|e| e.to_string())?;
    if report == PruneReport::default() {
        ctx.trace_debug("history pruning found nothing to remove");
    } else {
        ctx.trace_info(summary(&report));
    }
    Ok(report)
}

/// What a pass removed, in words an operator reads at a glance.
fn summary(report: &PruneReport) -> String {
    format!(
        "history pruned: {} old executions, {} finished orchestrations, {} health checks",
        report.executions_deleted, report.orchestrations_deleted, report.health_checks_deleted
    )
}

/// `secs` before now, as time since the Unix epoch.
fn ago(secs: u64) -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(secs))
}
