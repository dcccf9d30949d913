//! Reads where the children of a batch stand: running, completed, or failed with the
//! error a user should see. An id not found yet was only just started: it runs.

use duroxide::{ActivityContext, OrchestrationStatus};

use crate::activity_types::{ChildStatus, ProgressInput};

pub const NAME: &str = crate::names::activities::BATCH_PROGRESS;

pub async fn run(ctx: ActivityContext, input: ProgressInput) -> Result<Vec<ChildStatus>, String> {
    let client = ctx.get_client();
    let mut statuses = Vec::with_capacity(input.orchestration_ids.len());
    for id in &input.orchestration_ids {
        let status = client
            .get_orchestration_status(id)
            .await
            .map_err(|e| format!("reading {id}: {e}"))?;
        statuses.push(match status {
            OrchestrationStatus::Completed { .. } => ChildStatus::Completed,
            OrchestrationStatus::Failed { details, .. } => ChildStatus::Failed {
                error: details.display_message(),
            },
            _ => ChildStatus::Running,
        });
    }
    Ok(statuses)
}
