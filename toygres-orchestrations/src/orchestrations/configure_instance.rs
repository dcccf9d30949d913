//! configure-instance 1.0.0: an instance's PostgreSQL parameters become what its tenant
//! asked for.
//!
//! configuring (the API checked the values against the instance's own `pg_settings`,
//! stored them as the record's desired parameters and moved the record) → apply them on
//! the platform (platform pool, fenced by `configuring`: written where restarts and re-made
//! standbys find them, reloaded, and, only when a changed parameter needs it, restarted,
//! rolling with standbys) → running → a fresh health actor. The actor is told to stop
//! watching first, since the change may restart the server. On failure the record is
//! `failed` with the error, unless a delete overtook the change; the desired parameters
//! stay on the record, so `config show` tells what was asked and not applied.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{operation, tagged};
use crate::activity_types::{ApplySettingsInput, ApplySettingsOutcome};
use crate::cms::InstanceState;
use crate::names::{activities, tags};
use crate::platform::AppliedSettings;
use crate::types::{ConfigureInput, ConfigureOutput};

pub async fn configure_instance(
    ctx: OrchestrationContext,
    input: ConfigureInput,
) -> Result<ConfigureOutput, String> {
    let operation = &input.operation;
    ctx.trace_info(format!("configuring {} parameters", input.settings.len()));
    match configure(&ctx, &input).await {
        Ok(applied) => Ok(ConfigureOutput {
            record_id: operation.record_id,
            name: operation.name.clone(),
            state: InstanceState::Running,
            restarted_for: applied.restarted_for,
            not_applied: applied.not_applied,
        }),
        Err(error) => Err(operation::fail(&ctx, operation, error).await),
    }
}

async fn configure(
    ctx: &OrchestrationContext,
    input: &ConfigureInput,
) -> Result<AppliedSettings, String> {
    let operation = &input.operation;
    ctx.set_custom_status("stopping health checks");
    operation::transition(ctx, operation, InstanceState::Configuring, true, None).await?;
    ctx.set_custom_status("applying the parameters");
    let outcome: ApplySettingsOutcome = tagged::run(
        ctx,
        tags::PLATFORM,
        activities::APPLY_SETTINGS,
        &ApplySettingsInput {
            record_id: operation.record_id,
            name: operation.name.clone(),
            settings: input.settings.clone(),
            restart_token: ctx.instance_id(),
        },
        3,
        Duration::from_secs(2),
    )
    .await?;
    let applied = match outcome {
        ApplySettingsOutcome::Applied { applied } => applied,
        ApplySettingsOutcome::Skipped { state } => {
            return Err(format!(
                "instance {} became {state} while its parameters changed",
                operation.name
            ));
        }
        ApplySettingsOutcome::Refused { reason } => return Err(reason),
    };
    if !applied.not_applied.is_empty() {
        ctx.trace_warn(format!(
            "the server did not take: {}",
            applied.not_applied.join("; ")
        ));
    }
    ctx.set_custom_status("marking it running");
    operation::transition(ctx, operation, InstanceState::Running, false, None).await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, operation).await?;
    Ok(applied)
}
