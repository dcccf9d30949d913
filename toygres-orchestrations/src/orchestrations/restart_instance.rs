//! restart-instance 1.0.0: a running instance gets a new server process on the same data.
//!
//! restarting (the API moved the record already; the actor is told to stop watching, so
//! the moment the server is down is not recorded as unhealthy) → restart the server and
//! log in (platform pool, fenced by `restarting`; the orchestration's id is the restart's
//! token, so a re-run restarts nothing twice) → running → a fresh health actor. On failure
//! the record is `failed` with the error, unless a delete overtook the restart.

use duroxide::OrchestrationContext;

use super::operation;
use crate::activity_types::PlatformOperation;
use crate::cms::InstanceState;
use crate::types::{OperationInput, OperationOutput};

pub async fn restart_instance(
    ctx: OrchestrationContext,
    input: OperationInput,
) -> Result<OperationOutput, String> {
    ctx.trace_info(format!("instance={}: restart started", input.name));
    match restart(&ctx, &input).await {
        Ok(()) => Ok(OperationOutput {
            record_id: input.record_id,
            name: input.name,
            state: InstanceState::Running,
        }),
        Err(error) => Err(operation::fail(&ctx, &input, error).await),
    }
}

async fn restart(ctx: &OrchestrationContext, input: &OperationInput) -> Result<(), String> {
    ctx.set_custom_status("stopping health checks");
    operation::transition(ctx, input, InstanceState::Restarting, true, None).await?;
    ctx.set_custom_status("restarting the server");
    let token = PlatformOperation::Restart {
        token: ctx.instance_id(),
    };
    let endpoint = operation::operate(ctx, input, token).await?;
    ctx.set_custom_status("marking it running");
    operation::transition(ctx, input, InstanceState::Running, false, endpoint).await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, input).await.map(|_| ())
}
