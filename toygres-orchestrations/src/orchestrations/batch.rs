//! batch 1.0.0: many creates, or many deletes, as one operation.
//!
//! The children are ordinary create-instance and delete-instance orchestrations under the
//! ids the API gave them, so each is what a single create or delete would be (`get`,
//! `operations show`, reconciliation all see them as such). The batch starts at most
//! `parallelism` of them at a time and starts the next as others end: a batch of 200
//! never fills the platform's queue ahead of anybody else's work, and the platform's
//! worker pools bound what runs. A child that fails does not stop the others. Every poll
//! sets the batch's status to its progress (`12 of 50 done, 1 failed, 8 running`), and the
//! output is the summary: which succeeded, which failed and why.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::retry;
use crate::activity_types::{ChildStart, ChildStatus, ProgressInput, StartChildrenInput};
use crate::names::activities;
use crate::types::{BatchChild, BatchFailure, BatchInput, BatchOutput};

/// How often the batch looks at its children.
const POLL: Duration = Duration::from_secs(2);

pub async fn batch(ctx: OrchestrationContext, input: BatchInput) -> Result<BatchOutput, String> {
    let children = &input.children;
    let total = children.len();
    let window = usize::try_from(input.parallelism.max(1)).unwrap_or(1);
    ctx.trace_info(format!("batch of {total} started, {window} at a time"));
    let mut output = BatchOutput {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        ..BatchOutput::default()
    };
    let mut running: Vec<&BatchChild> = Vec::new();
    let mut next = 0;
    loop {
        let starting = &children[next..total.min(next + window.saturating_sub(running.len()))];
        next += starting.len();
        if !starting.is_empty() {
            let outcomes = start(&ctx, starting).await?;
            for (child, outcome) in starting.iter().zip(outcomes) {
                match outcome {
                    ChildStart::Started => running.push(child),
                    ChildStart::AlreadyDone => output.succeeded.push(child.name().clone()),
                    ChildStart::Refused { error } => output.failed.push(BatchFailure {
                        name: child.name().clone(),
                        error,
                    }),
                }
            }
        }
        if running.is_empty() && next >= total {
            break;
        }
        ctx.schedule_timer(POLL).await;
        let statuses = progress(&ctx, &running).await?;
        let mut still = Vec::new();
        for (child, status) in running.into_iter().zip(statuses) {
            match status {
                ChildStatus::Running => still.push(child),
                ChildStatus::Completed => output.succeeded.push(child.name().clone()),
                ChildStatus::Failed { error } => output.failed.push(BatchFailure {
                    name: child.name().clone(),
                    error,
                }),
            }
        }
        running = still;
        ctx.set_custom_status(format!(
            "{} of {total} done, {} failed, {} running, {} waiting",
            output.succeeded.len() + output.failed.len(),
            output.failed.len(),
            running.len(),
            total - next
        ));
    }
    ctx.trace_info(format!(
        "batch of {total} ended: {} succeeded, {} failed",
        output.succeeded.len(),
        output.failed.len()
    ));
    Ok(output)
}

async fn start(
    ctx: &OrchestrationContext,
    children: &[BatchChild],
) -> Result<Vec<ChildStart>, String> {
    ctx.schedule_activity_with_retry_typed(
        activities::START_BATCH_CHILDREN,
        &StartChildrenInput {
            children: children.to_vec(),
        },
        retry::with_backoff(5, Duration::from_secs(1)),
    )
    .await
}

async fn progress(
    ctx: &OrchestrationContext,
    running: &[&BatchChild],
) -> Result<Vec<ChildStatus>, String> {
    ctx.schedule_activity_with_retry_typed(
        activities::BATCH_PROGRESS,
        &ProgressInput {
            orchestration_ids: running
                .iter()
                .map(|child| child.orchestration_id().to_string())
                .collect(),
        },
        retry::with_backoff(5, Duration::from_secs(1)),
    )
    .await
}
