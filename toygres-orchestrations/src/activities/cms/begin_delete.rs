//! `→ deleting`, the actor told to stop, and the backup schedule ended, in one step.
//!
//! Waits for any fenced platform call on the record to finish (it holds the row lock).
//! Only a running instance has an actor; an actor whose create was finishing may still
//! start after this and stops by itself when it finds the record `deleting`. A re-run
//! (the record is already `deleting`) signals again: a second InstanceDeleted is harmless.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{InstanceRef, TransitionOutcome};
use crate::names;
use toygres_cms::InstanceState;
use toygres_cms::backups;
use toygres_cms::instances::{self, Change};

pub const NAME: &str = names::activities::CMS_BEGIN_DELETE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: InstanceRef,
) -> Result<TransitionOutcome, String> {
    let change = Change {
        delete_orchestration_id: Some(ctx.instance_id()),
        ..Change::default()
    };
    let outcome: TransitionOutcome = instances::transition(
        &deps.cms,
        input.instance_id,
        InstanceState::Deleting,
        &change,
        ctx.instance_id(),
    )
    .await
    .map_err(|e| e.to_string())?
    .into();
    let has_actor = match outcome {
        TransitionOutcome::Applied { from } => from == InstanceState::Running,
        TransitionOutcome::AlreadyThere => true,
        TransitionOutcome::NotAllowed { .. } => false,
    };
    if !matches!(outcome, TransitionOutcome::NotAllowed { .. }) {
        end_backup_schedule(&deps, &ctx, &input).await?;
    }
    if has_actor {
        let actor = names::instance_ids::instance_actor(input.instance_id);
        ctx.get_client()
            .enqueue_event(&actor, names::events::INSTANCE_DELETED, "{}")
            .await
            .map_err(|e| format!("signalling actor {actor}: {e}"))?;
        ctx.trace_info(format!(
            "instance={}: InstanceDeleted sent to {actor}",
            input.name
        ));
    }
    Ok(outcome)
}

/// A deleted instance is backed up no more: its schedule (if any) is told to end, and
/// its settings go. Its backups stay.
async fn end_backup_schedule(
    deps: &Dependencies,
    ctx: &ActivityContext,
    input: &InstanceRef,
) -> Result<(), String> {
    let schedule = backups::schedule(&deps.cms, input.instance_id)
        .await
        .map_err(|e| e.to_string())?;
    if schedule.is_none() {
        return Ok(());
    }
    let id = names::instance_ids::backup_schedule(input.instance_id);
    ctx.get_client()
        .enqueue_event(&id, names::events::BACKUP_SCHEDULE_CHANGED, "null")
        .await
        .map_err(|e| format!("ending the backup schedule {id}: {e}"))?;
    backups::remove_schedule(&deps.cms, input.instance_id)
        .await
        .map_err(|e| e.to_string())
}
