//! start-instance 1.0.0: a stopped (or failed) instance's server runs again, with the
//! same data, port and password, and is watched again.
//!
//! starting (the API moved the record already) → start the server and log in (platform
//! pool, fenced by `starting`) → running → a fresh health actor. On failure the record is
//! `failed` with the error, unless a delete overtook the start.

use duroxide::OrchestrationContext;

use super::operation;
use crate::activity_types::PlatformOperation;
use crate::cms::InstanceState;
use crate::types::{OperationInput, OperationOutput};

pub async fn start_instance(
    ctx: OrchestrationContext,
    input: OperationInput,
) -> Result<OperationOutput, String> {
    ctx.trace_info(format!("instance={}: start started", input.name));
    match start(&ctx, &input).await {
        Ok(()) => Ok(OperationOutput {
            record_id: input.record_id,
            name: input.name,
            state: InstanceState::Running,
        }),
        Err(error) => Err(operation::fail(&ctx, &input, error).await),
    }
}

async fn start(ctx: &OrchestrationContext, input: &OperationInput) -> Result<(), String> {
    operation::transition(ctx, input, InstanceState::Starting, false, None).await?;
    ctx.set_custom_status("starting the server");
    let endpoint = operation::operate(ctx, input, PlatformOperation::Start).await?;
    ctx.set_custom_status("marking it running");
    operation::transition(ctx, input, InstanceState::Running, false, endpoint).await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, input).await.map(|_| ())
}
