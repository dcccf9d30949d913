//! create-instance 1.2.0: from a reserved record to a running, watched database in two
//! durable steps, starting empty or from a backup.
//!
//! provision (deploy, or restore-instance from a backup; wait until the server accepts
//! connections, log in; on the platform worker pool) → mark running → start the instance
//! actor (detached).
//!
//! Changed from 1.1.0: the input may name a backup (and a moment) to restore; then the
//! first step is restore-instance instead of provision-instance. Everything else is
//! 1.1.0's: on failure the record is marked failed and delete-instance cleans up as a
//! sub-orchestration, unless a delete overtook the create: then the error says so and the
//! delete cleans up.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::{retry, tagged};
use crate::activity_types::{
    InstanceRef, MarkFailedInput, MarkRunningInput, ProvisionInstanceInput, ProvisionOutcome,
    RestoreInstanceInput, TransitionOutcome,
};
use crate::cms::InstanceState;
use crate::names::{activities, instance_ids, orchestrations, tags};
use crate::platform::Endpoint;
use crate::types::v1_1::{CreateInstanceOutput, InstanceActorInput};
use crate::types::v1_2::CreateInstanceInput;
use crate::types::{DeleteInstanceInput, DeleteInstanceOutput, DeleteMode};

pub async fn create_instance(
    ctx: OrchestrationContext,
    input: CreateInstanceInput,
) -> Result<CreateInstanceOutput, String> {
    let instance = InstanceRef {
        instance_id: input.record_id,
        name: input.spec.name.clone(),
    };
    ctx.trace_info(format!("instance={}: create started", instance.name));
    match provision(&ctx, &input, &instance).await {
        Ok(endpoint) => {
            let actor_orchestration_id = start_actor(&ctx, &input, &instance);
            ctx.trace_info(format!(
                "instance={}: running at {}:{}",
                instance.name, endpoint.host, endpoint.port
            ));
            Ok(CreateInstanceOutput {
                record_id: instance.instance_id,
                name: instance.name,
                endpoint,
                actor_orchestration_id,
            })
        }
        Err(error) => Err(fail_and_clean_up(&ctx, &instance, error).await),
    }
}

async fn provision(
    ctx: &OrchestrationContext,
    input: &CreateInstanceInput,
    instance: &InstanceRef,
) -> Result<Endpoint, String> {
    let provisioned: ProvisionOutcome = match &input.restore {
        None => {
            ctx.set_custom_status("deploying");
            tagged::run(
                ctx,
                tags::PLATFORM,
                activities::PROVISION_INSTANCE,
                &ProvisionInstanceInput {
                    record_id: instance.instance_id,
                    spec: input.spec.clone(),
                    readiness_timeout_secs: input.readiness_timeout_secs,
                },
                3,
                Duration::from_secs(2),
            )
            .await?
        }
        Some(restore) => {
            ctx.set_custom_status("restoring");
            ctx.trace_info(format!(
                "instance={}: restoring backup {} of {}",
                instance.name, restore.from.label, restore.from.stanza
            ));
            tagged::run(
                ctx,
                tags::PLATFORM,
                activities::RESTORE_INSTANCE,
                &RestoreInstanceInput {
                    record_id: instance.instance_id,
                    spec: input.spec.clone(),
                    readiness_timeout_secs: input.readiness_timeout_secs,
                    restore: restore.clone(),
                },
                3,
                Duration::from_secs(2),
            )
            .await?
        }
    };
    let endpoint = match provisioned {
        ProvisionOutcome::Ready { endpoint, .. } => endpoint,
        ProvisionOutcome::Skipped { state } => {
            return Err(format!(
                "instance {} was {state} before it could be deployed",
                instance.name
            ));
        }
        ProvisionOutcome::Refused { reason } | ProvisionOutcome::NotReady { reason } => {
            return Err(reason);
        }
    };
    ctx.set_custom_status("marking it running");
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
            incarnation: ctx.instance_id(),
        },
    );
    actor_id
}

/// Records the failure, removes whatever was made, and hands back the error a user should
/// see.
async fn fail_and_clean_up(
    ctx: &OrchestrationContext,
    instance: &InstanceRef,
    error: String,
) -> String {
    let name = &instance.name;
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
    match marked {
        Ok(TransitionOutcome::NotAllowed {
            current: InstanceState::Deleting | InstanceState::Deleted,
        }) => {
            // Whatever failed here failed because the delete tore the instance down; the
            // delete removes what was made.
            let reason = format!("instance {name} was deleted while it was being created");
            ctx.trace_warn(format!("instance={name}: {reason} ({error})"));
            return reason;
        }
        Ok(_) => {}
        Err(e) => ctx.trace_error(format!("instance={name}: could not mark failed: {e}")),
    }
    ctx.trace_error(format!("instance={name}: create failed: {error}"));
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
