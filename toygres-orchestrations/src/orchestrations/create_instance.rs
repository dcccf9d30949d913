//! create-instance 1.0.0: from a request to a running, watched database.
//!
//! reserve CMS record → deploy → wait until ready (durable timers) → endpoint →
//! connection test (retried) → mark running → start the instance actor (detached).
//! On any failure after the reservation: mark failed, clean up through delete-instance as
//! a sub-orchestration, and return the error.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::retry;
use crate::activity_types::{
    DeployInstanceInput, FencedOutcome, InstanceRef, MarkFailedInput, MarkRunningInput,
    ReserveInstanceInput, ReserveInstanceOutput, TestConnectionOutput, TransitionOutcome,
};
use crate::names::{activities, instance_ids, orchestrations};
use crate::platform::{Endpoint, InstanceStatus};
use crate::types::{
    CreateInstanceInput, CreateInstanceOutput, DeleteInstanceInput, DeleteInstanceOutput,
    DeleteMode, InstanceActorInput,
};

const FIRST_READINESS_DELAY: Duration = Duration::from_millis(500);
const MAX_READINESS_DELAY: Duration = Duration::from_secs(5);

pub async fn create_instance(
    ctx: OrchestrationContext,
    input: CreateInstanceInput,
) -> Result<CreateInstanceOutput, String> {
    let name = input.spec.name.clone();
    let started = ctx.utc_now().await?;
    ctx.trace_info(format!("instance={name}: create started"));
    ctx.set_custom_status("reserving the name");
    let reserved: ReserveInstanceOutput = ctx
        .schedule_activity_typed(
            activities::CMS_RESERVE_INSTANCE,
            &ReserveInstanceInput {
                spec: input.spec.clone(),
            },
        )
        .await
        .inspect_err(|e| ctx.trace_error(format!("instance={name}: not created: {e}")))?;
    let instance = InstanceRef {
        instance_id: reserved.instance_id,
        name,
    };
    match provision(&ctx, &input, &instance).await {
        Ok(endpoint) => {
            let actor_orchestration_id = start_actor(&ctx, &input, &instance);
            let finished = ctx.utc_now().await?;
            let seconds = finished
                .duration_since(started)
                .unwrap_or_default()
                .as_secs_f64();
            ctx.trace_info(format!(
                "instance={}: running at {}:{} after {seconds:.1}s",
                instance.name, endpoint.host, endpoint.port
            ));
            Ok(CreateInstanceOutput {
                instance_id: instance.instance_id,
                name: instance.name,
                endpoint,
                actor_orchestration_id,
                seconds,
            })
        }
        Err(error) => Err(fail_and_clean_up(&ctx, &instance, error).await),
    }
}

/// Every step between the reservation and `running`.
async fn provision(
    ctx: &OrchestrationContext,
    input: &CreateInstanceInput,
    instance: &InstanceRef,
) -> Result<Endpoint, String> {
    ctx.set_custom_status("deploying");
    let deployed: FencedOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::DEPLOY_INSTANCE,
            &DeployInstanceInput {
                instance_id: instance.instance_id,
                spec: input.spec.clone(),
            },
            retry::with_backoff(3, Duration::from_secs(2)),
        )
        .await?;
    match deployed {
        FencedOutcome::Done => {}
        FencedOutcome::Skipped { state } => {
            return Err(format!(
                "instance {} was {state} before it could be deployed",
                instance.name
            ));
        }
        FencedOutcome::Refused { reason } => return Err(reason),
    }
    ctx.set_custom_status("waiting for the server to accept connections");
    wait_until_ready(
        ctx,
        instance,
        Duration::from_secs(input.readiness_timeout_secs),
    )
    .await?;
    ctx.set_custom_status("testing a connection");
    let endpoint: Endpoint = ctx
        .schedule_activity_with_retry_typed(
            activities::GET_INSTANCE_ENDPOINT,
            instance,
            retry::with_backoff(3, Duration::from_secs(1)),
        )
        .await?;
    let tested: TestConnectionOutput = ctx
        .schedule_activity_with_retry_typed(
            activities::TEST_CONNECTION,
            instance,
            retry::with_backoff(5, Duration::from_secs(1)).with_timeout(Duration::from_secs(60)),
        )
        .await?;
    if tested == TestConnectionOutput::InstanceGone {
        return Err(format!(
            "instance {} disappeared before its connection test",
            instance.name
        ));
    }
    let marked: TransitionOutcome = ctx
        .schedule_activity_with_retry_typed(
            activities::CMS_MARK_RUNNING,
            &MarkRunningInput {
                instance_id: instance.instance_id,
                endpoint: endpoint.clone(),
                actor_orchestration_id: instance_ids::instance_actor(instance.instance_id),
            },
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await?;
    if let TransitionOutcome::NotAllowed { current } = marked {
        return Err(format!(
            "instance {} became {current} while it was being created",
            instance.name
        ));
    }
    Ok(endpoint)
}

/// Polls the platform with growing durable timers until the server accepts connections.
async fn wait_until_ready(
    ctx: &OrchestrationContext,
    instance: &InstanceRef,
    timeout: Duration,
) -> Result<(), String> {
    let mut waited = Duration::ZERO;
    let mut delay = FIRST_READINESS_DELAY;
    loop {
        let status: InstanceStatus = ctx
            .schedule_activity_with_retry_typed(
                activities::GET_INSTANCE_STATUS,
                instance,
                retry::with_backoff(3, Duration::from_secs(1)),
            )
            .await?;
        match status {
            InstanceStatus::Ready => return Ok(()),
            InstanceStatus::Missing => {
                return Err(format!(
                    "instance {} disappeared while it was starting",
                    instance.name
                ));
            }
            InstanceStatus::Failed { reason } => {
                return Err(format!("instance {} cannot start: {reason}", instance.name));
            }
            InstanceStatus::NotReady { reason } if waited >= timeout => {
                return Err(format!(
                    "instance {} was not ready after {}s: {reason}",
                    instance.name,
                    waited.as_secs()
                ));
            }
            InstanceStatus::NotReady { .. } => {
                ctx.schedule_timer(delay).await;
                waited += delay;
                delay = (delay * 2).min(MAX_READINESS_DELAY);
            }
        }
    }
}

fn start_actor(
    ctx: &OrchestrationContext,
    input: &CreateInstanceInput,
    instance: &InstanceRef,
) -> String {
    let actor_id = instance_ids::instance_actor(instance.instance_id);
    ctx.schedule_orchestration_typed(
        orchestrations::INSTANCE_ACTOR,
        &actor_id,
        &InstanceActorInput {
            instance_id: instance.instance_id,
            name: instance.name.clone(),
            interval_secs: input.health_check_interval_secs,
            cycle: 0,
        },
    );
    actor_id
}

/// Records the failure, removes whatever was made, and hands the original error back.
async fn fail_and_clean_up(
    ctx: &OrchestrationContext,
    instance: &InstanceRef,
    error: String,
) -> String {
    let name = &instance.name;
    ctx.trace_error(format!("instance={name}: create failed: {error}"));
    ctx.set_custom_status("cleaning up after a failure");
    let marked = ctx
        .schedule_activity_with_retry_typed::<_, TransitionOutcome>(
            activities::CMS_MARK_FAILED,
            &MarkFailedInput {
                instance_id: instance.instance_id,
                error: error.clone(),
            },
            retry::with_backoff(5, Duration::from_secs(1)),
        )
        .await;
    if let Err(e) = marked {
        ctx.trace_error(format!("instance={name}: could not mark failed: {e}"));
    }
    let cleanup = ctx
        .schedule_sub_orchestration_typed::<_, DeleteInstanceOutput>(
            orchestrations::DELETE_INSTANCE,
            &DeleteInstanceInput {
                instance_id: instance.instance_id,
                name: name.clone(),
                mode: DeleteMode::CleanUpFailedCreate,
            },
        )
        .await;
    if let Err(e) = cleanup {
        ctx.trace_error(format!(
            "instance={name}: cleanup after failure failed: {e}"
        ));
    }
    error
}
