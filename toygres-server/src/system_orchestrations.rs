//! The system orchestrations: one of each per store, under fixed ids, started here.
//!
//! - the history pruner always;
//! - the warm pool when the platform has one and `--warm-pool-size` is not 0.
//!
//! Each server [`publish`]es its settings to the CMS as it starts; reconciliation calls
//! [`ensure_agreed`] at start-up and on every pass (under its advisory lock), so a
//! singleton that is missing, died, or runs with settings other than the published ones is
//! (re)started. The server that started last wins, and servers started with different
//! flags agree on its settings instead of replacing each other's singletons on every pass.

use std::time::Duration;

use anyhow::Context;
use duroxide::{Client, EventKind, OrchestrationStatus};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use toygres_cms::system_settings;

use crate::ensure_running::{self, WhenCompleted, ensure_running};
use toygres_orchestrations::names::{instance_ids, orchestrations};
use toygres_orchestrations::types::{HistoryPrunerInput, WarmPoolInput};

/// The longest pause between two warm-pool refills when no claim wakes it.
const WARM_POOL_INTERVAL_SECS: u64 = 60;
/// How long a replaced singleton may take to acknowledge its cancellation.
const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// What the singletons should run with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemSettings {
    pub pruner: HistoryPrunerInput,
    /// `None`: no warm pool (size 0, or a platform without one).
    pub warm_pool_size: Option<u32>,
}

/// What [`ensure`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ensured {
    pub started: usize,
    pub stopped: usize,
}

/// Makes `settings` (this server's, as it starts) the ones every server reconciles to.
pub async fn publish(cms: &PgPool, settings: &SystemSettings) -> anyhow::Result<()> {
    system_settings::publish(cms, &serde_json::to_value(settings)?).await?;
    Ok(())
}

/// Makes the singletons run with the published settings (`own` until some are).
pub async fn ensure_agreed(
    cms: &PgPool,
    client: &Client,
    own: &SystemSettings,
) -> anyhow::Result<Ensured> {
    let settings = match system_settings::current(cms).await? {
        Some(published) => serde_json::from_value(published)
            .context("the published system settings are not readable by this version")?,
        None => own.clone(),
    };
    ensure(client, &settings).await
}

async fn ensure(client: &Client, settings: &SystemSettings) -> anyhow::Result<Ensured> {
    let mut done = Ensured::default();
    let pruner = ensure_one(
        client,
        instance_ids::HISTORY_PRUNER,
        orchestrations::HISTORY_PRUNER,
        Some(&settings.pruner),
    )
    .await?;
    done.started += usize::from(pruner.started);
    done.stopped += usize::from(pruner.stopped);
    let warm_pool = settings.warm_pool_size.map(|size| WarmPoolInput {
        size,
        interval_secs: WARM_POOL_INTERVAL_SECS,
        cycle: 0,
    });
    let pool = ensure_one(
        client,
        instance_ids::WARM_POOL,
        orchestrations::WARM_POOL,
        warm_pool.as_ref(),
    )
    .await?;
    done.started += usize::from(pool.started);
    done.stopped += usize::from(pool.stopped);
    Ok(done)
}

#[derive(Default)]
struct Outcome {
    started: bool,
    stopped: bool,
}

/// Makes `id` run `wanted` (or not run at all when `None`).
async fn ensure_one<I: Serialize>(
    client: &Client,
    id: &str,
    orchestration: &str,
    wanted: Option<&I>,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let status = client.get_orchestration_status(id).await?;
    let running = matches!(status, OrchestrationStatus::Running { .. });
    if running {
        let same = match wanted {
            Some(input) => same_settings(&current_input(client, id).await?, input)?,
            None => false,
        };
        if same {
            return Ok(outcome);
        }
        client
            .cancel_instance(id, "replaced: the server runs it with other settings")
            .await?;
        client.wait_for_orchestration(id, CANCEL_WAIT).await?;
        outcome.stopped = true;
        tracing::info!(
            orchestration_id = id,
            "stopped a system orchestration whose settings changed"
        );
    }
    match wanted {
        Some(input) => {
            let start = || async {
                Ok(client
                    .start_orchestration_typed(id, orchestration, input)
                    .await?)
            };
            let ensured = ensure_running(client, id, WhenCompleted::Replace, start).await?;
            outcome.started = matches!(ensured, ensure_running::Ensured::Started { .. });
            if outcome.started {
                tracing::info!(orchestration_id = id, "started a system orchestration");
            }
        }
        None if status != OrchestrationStatus::NotFound => {
            client.delete_instance(id, true).await?;
        }
        None => {}
    }
    Ok(outcome)
}

/// The input the current execution of `id` started with.
async fn current_input(client: &Client, id: &str) -> anyhow::Result<serde_json::Value> {
    let info = client.get_instance_info(id).await?;
    let history = client
        .read_execution_history(id, info.current_execution_id)
        .await?;
    let input = history
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::OrchestrationStarted { input, .. } => Some(input.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Ok(serde_json::from_str(&input).unwrap_or_default())
}

/// Equal inputs, but for the generation counter every cycle moves.
fn same_settings<I: Serialize>(current: &serde_json::Value, wanted: &I) -> anyhow::Result<bool> {
    let without_cycle = |value: &serde_json::Value| {
        let mut value = value.clone();
        if let Some(object) = value.as_object_mut() {
            object.remove("cycle");
        }
        value
    };
    Ok(without_cycle(current) == without_cycle(&serde_json::to_value(wanted)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_counter_is_not_a_setting() {
        let wanted = WarmPoolInput {
            size: 2,
            interval_secs: 60,
            cycle: 0,
        };
        let later = serde_json::json!({"size": 2, "interval_secs": 60, "cycle": 17});
        assert!(same_settings(&later, &wanted).unwrap());
        let resized = serde_json::json!({"size": 3, "interval_secs": 60, "cycle": 17});
        assert!(!same_settings(&resized, &wanted).unwrap());
    }
}
