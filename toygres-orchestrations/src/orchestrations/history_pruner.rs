//! history-pruner 1.0.0: the system orchestration that keeps state bounded.
//!
//! prune (old executions, finished orchestrations, old health rows) → wait `interval` →
//! `continue_as_new`. One per store, under a fixed id; the server starts it when it is
//! missing and replaces it when it died, so it runs as long as any server does.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::retry;
use crate::activity_types::{PruneHistoryInput, PruneReport};
use crate::names::activities;
use crate::types::HistoryPrunerInput;

pub async fn history_pruner(
    ctx: OrchestrationContext,
    input: HistoryPrunerInput,
) -> Result<(), String> {
    ctx.set_custom_status("pruning");
    let pruned = ctx
        .schedule_activity_with_retry_typed::<_, PruneReport>(
            activities::PRUNE_HISTORY,
            &PruneHistoryInput {
                keep_executions: input.keep_executions,
                orchestration_retention_secs: input.orchestration_retention_secs,
                health_retention_secs: input.health_retention_secs,
            },
            retry::with_backoff(3, Duration::from_secs(5)),
        )
        .await;
    if let Err(error) = pruned {
        // The next pass tries again; a pruner that stopped would let state grow.
        ctx.trace_warn(format!("history pruning failed: {error}"));
    }
    ctx.set_custom_status("waiting for the next pass");
    ctx.schedule_timer(Duration::from_secs(input.interval_secs))
        .await;
    let next = HistoryPrunerInput {
        cycle: input.cycle + 1,
        ..input
    };
    ctx.continue_as_new_typed(&next).await.map(|_| ())
}
