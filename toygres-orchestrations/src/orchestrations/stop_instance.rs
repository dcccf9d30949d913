//! stop-instance 1.0.0: a running instance's server stops; its data, port and password
//! stay, and nothing probes it.
//!
//! stopping (the API moved the record already; the actor is told to stop watching) →
//! stop the server (platform pool, fenced by `stopping`) → stopped. On failure the record
//! is `failed` with the error (a start retries), unless a delete overtook the stop.

use duroxide::OrchestrationContext;

use super::operation;
use crate::activity_types::PlatformOperation;
use crate::cms::InstanceState;
use crate::types::{OperationInput, OperationOutput};

pub async fn stop_instance(
    ctx: OrchestrationContext,
    input: OperationInput,
) -> Result<OperationOutput, String> {
    ctx.trace_info(format!("instance={}: stop started", input.name));
    match stop(&ctx, &input).await {
        Ok(()) => Ok(OperationOutput {
            record_id: input.record_id,
            name: input.name,
            state: InstanceState::Stopped,
        }),
        Err(error) => Err(operation::fail(&ctx, &input, error).await),
    }
}

async fn stop(ctx: &OrchestrationContext, input: &OperationInput) -> Result<(), String> {
    ctx.set_custom_status("stopping health checks");
    operation::transition(ctx, input, InstanceState::Stopping, true, None).await?;
    ctx.set_custom_status("stopping the server");
    operation::operate(ctx, input, PlatformOperation::Stop).await?;
    ctx.set_custom_status("marking it stopped");
    operation::transition(ctx, input, InstanceState::Stopped, false, None).await
}
