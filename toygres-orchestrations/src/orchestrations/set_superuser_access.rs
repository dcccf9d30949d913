//! set-superuser-access 1.0.0: a running instance's tenant gets, or loses, the superuser's
//! login.
//!
//! configuring (the API moved the record already; the actor is told to stop watching,
//! since turning access off restarts the server) → change it on the platform and log in
//! (platform pool, fenced by `configuring`; on: the rules let the superuser in and the
//! server reloads them; off: what a superuser could have handed out is taken back, the
//! superuser gets a new password, and the server restarts with nothing the tenant left
//! running; the record's `superuser_access` follows) → running → a fresh health actor. On
//! failure the record is `failed` with the error, unless a delete overtook the change.

use duroxide::OrchestrationContext;

use super::operation;
use crate::activity_types::PlatformOperation;
use crate::cms::InstanceState;
use crate::types::{OperationOutput, SuperuserAccessInput};

pub async fn set_superuser_access(
    ctx: OrchestrationContext,
    input: SuperuserAccessInput,
) -> Result<OperationOutput, String> {
    let operation = &input.operation;
    let way = if input.enabled { "on" } else { "off" };
    ctx.trace_info(format!(
        "instance={}: superuser access {way} started",
        operation.name
    ));
    match change(&ctx, &input, way).await {
        Ok(()) => Ok(OperationOutput {
            record_id: operation.record_id,
            name: operation.name.clone(),
            state: InstanceState::Running,
        }),
        Err(error) => Err(operation::fail(&ctx, operation, error).await),
    }
}

async fn change(
    ctx: &OrchestrationContext,
    input: &SuperuserAccessInput,
    way: &str,
) -> Result<(), String> {
    let operation = &input.operation;
    ctx.set_custom_status("stopping health checks");
    operation::transition(ctx, operation, InstanceState::Configuring, true, None).await?;
    ctx.set_custom_status(format!("turning superuser access {way}"));
    let change = PlatformOperation::SetSuperuserAccess {
        enabled: input.enabled,
    };
    let endpoint = operation::operate(ctx, operation, change).await?;
    ctx.set_custom_status("marking it running");
    operation::transition(ctx, operation, InstanceState::Running, false, endpoint).await?;
    ctx.set_custom_status("resuming health checks");
    operation::watch(ctx, operation).await.map(|_| ())
}
