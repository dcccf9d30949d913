//! The one way the server makes sure an orchestration runs under a given id: start it
//! unless it runs. duroxide keeps a finished orchestration under its id and refuses a new
//! start there, so one that failed (or, where a finished one is not the answer, one that
//! completed) is removed first and started again under the same id.

use std::future::Future;

use duroxide::{Client, OrchestrationStatus};

/// What a completed orchestration under the id means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenCompleted {
    /// Its work is done: leave it (a delete that completed).
    Keep,
    /// Run it again (a backup removal asked for again, a singleton that ended).
    Replace,
}

/// What [`ensure_running`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// It runs (or completed, when kept): nothing was started.
    Found(OrchestrationStatus),
    /// Started; `replaced` is what was under the id before (`NotFound`: nothing).
    Started { replaced: OrchestrationStatus },
}

/// Makes sure an orchestration runs under `id`, starting it with `start` (which starts it
/// under `id`) when it does not.
pub async fn ensure_running<F, Fut>(
    client: &Client,
    id: &str,
    completed: WhenCompleted,
    start: F,
) -> anyhow::Result<Ensured>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let status = client.get_orchestration_status(id).await?;
    match (&status, completed) {
        (OrchestrationStatus::Running { .. }, _)
        | (OrchestrationStatus::Completed { .. }, WhenCompleted::Keep) => {
            return Ok(Ensured::Found(status));
        }
        (OrchestrationStatus::NotFound, _) => {}
        (OrchestrationStatus::Failed { .. } | OrchestrationStatus::Completed { .. }, _) => {
            client.delete_instance(id, true).await?;
        }
    }
    start().await?;
    Ok(Ensured::Started { replaced: status })
}
