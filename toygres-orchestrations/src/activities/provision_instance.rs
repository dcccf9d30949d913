//! Deploys a reserved instance and proves it usable, in one step: deploy (fenced by the CMS
//! record being `creating`), wait until the server accepts connections, log in with the
//! instance's own password and run `SELECT 1`. restore-instance does the same from a
//! backup, through [`provision`].
//!
//! One activity instead of four (deploy, status polls, endpoint, connection test) because
//! every durable step costs a round trip through the store. The work is bounded here, by
//! the readiness timeout counted from the moment a worker starts it, not by a duroxide
//! per-attempt timeout: this step runs on the platform worker pool and may queue behind
//! other deploys, and time spent in that queue must never count against it. (Inside, a
//! deploy may wait for an `initdb` slot of the local platform, behind at most the other
//! platform workers' deploys, about a second each: that wait does count.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use duroxide::ActivityContext;

use super::{readiness, while_state};
use crate::Dependencies;
use crate::activity_types::{ProvisionInstanceInput, ProvisionOutcome};
use crate::domain::InstanceName;
use crate::names;
use crate::platform::InstanceSpec;
use crate::platform::{Deployed, Login, PlatformError, Whose};
use crate::types::v1_2::Restore;
use toygres_cms::InstanceState;
use toygres_cms::fence::{self, Fenced};

pub const NAME: &str = names::activities::PROVISION_INSTANCE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: ProvisionInstanceInput,
) -> Result<ProvisionOutcome, String> {
    let request = Request {
        record_id: input.record_id,
        spec: &input.spec,
        readiness_timeout_secs: input.readiness_timeout_secs,
        restore: None,
    };
    provision(&deps, &ctx, request).await
}

/// What to provision, and from what.
pub(super) struct Request<'a> {
    pub record_id: uuid::Uuid,
    pub spec: &'a InstanceSpec,
    pub readiness_timeout_secs: u64,
    /// A backup to restore instead of an empty data directory.
    pub restore: Option<&'a Restore>,
}

/// Deploys (or restores) the instance while its record is `creating`, then waits until it
/// accepts a login.
pub(super) async fn provision(
    deps: &Dependencies,
    ctx: &ActivityContext,
    input: Request<'_>,
) -> Result<ProvisionOutcome, String> {
    let name = &input.spec.name;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(input.readiness_timeout_secs);
    ctx.trace_info(format!(
        "instance={name}: deploying PostgreSQL {} on {}",
        input.spec.postgres_version,
        deps.platform.kind()
    ));
    if let Some(restore) = input.restore
        && let Some(outcome) = stage_restore(deps, ctx, &input, restore).await?
    {
        return Ok(outcome);
    }
    let deployed = fence::while_in_state(
        &deps.fences,
        input.record_id,
        &[InstanceState::Creating],
        || async {
            match input.restore {
                // Bounded by the platform: a restored server may replay WAL for up to an
                // hour before it is consistent.
                Some(restore) => deps
                    .platform
                    .restore(input.spec, input.record_id, &restore.from)
                    .await
                    .map(Some),
                // Bounded here, so that a hung platform (a stuck disk, a frozen `initdb`)
                // ends the create at its deadline and lets go of the record for a delete.
                None => {
                    let deploy = deps.platform.deploy(input.spec, input.record_id);
                    let bounded = tokio::time::timeout_at(deadline.into(), deploy).await;
                    bounded.map_or(Ok(None), |deployed| deployed.map(Some))
                }
            }
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    match deployed {
        Ok(Fenced::Done(Some(deployed))) => refill_if_claimed(ctx, name, deployed).await,
        Ok(Fenced::Done(None)) => {
            let reason = format!(
                "the platform did not finish deploying {name} within {}s",
                input.readiness_timeout_secs
            );
            ctx.trace_error(format!("instance={name}: {reason}"));
            return Ok(ProvisionOutcome::NotReady { reason });
        }
        Ok(Fenced::Skipped { current }) => return Ok(skipped(ctx, name, current)),
        Err(error) => return refused_or_failed(ctx, name, "deploying", error),
    }
    if input.restore.is_some()
        && let Err(error) = deps
            .platform
            .finish_restore(name, Whose::Record(input.record_id))
            .await
    {
        return refused_or_failed(ctx, name, "restoring", error);
    }
    if let Err(reason) = readiness::wait_until_ready(deps, name, started, deadline).await? {
        ctx.trace_error(format!("instance={name}: {reason}"));
        return Ok(ProvisionOutcome::NotReady { reason });
    }
    let (endpoint, login) = readiness::log_in(deps, name, Login::Owner).await?;
    ctx.trace_info(format!(
        "instance={name}: ready at {}:{} after {:?}; login took {login:?}",
        endpoint.host,
        endpoint.port,
        started.elapsed()
    ));
    Ok(ProvisionOutcome::Ready {
        endpoint,
        login_ms: login.as_millis() as u64,
    })
}

/// The long part of a restore, outside the fence (`while_state`: abandoned if the record
/// leaves `creating`): a running source archives its latest WAL, then the backup is copied
/// into place. `Some` when the create cannot go on.
async fn stage_restore(
    deps: &Dependencies,
    ctx: &ActivityContext,
    input: &Request<'_>,
    restore: &Restore,
) -> Result<Option<ProvisionOutcome>, String> {
    let name = &input.spec.name;
    if let Some(source) = &restore.live_source
        && restore.from.target.reads_later_wal()
    {
        // Everything the source wrote until now must be in the archive for the replay to
        // reach the target; a source gone meanwhile has archived all it ever will.
        if let Err(e) = deps.platform.archive_now(source).await {
            ctx.trace_warn(format!(
                "instance={name}: archiving {source}'s latest WAL: {e}"
            ));
        }
    }
    ctx.trace_info(format!(
        "instance={name}: copying backup {} of {}",
        restore.from.label, restore.from.stanza
    ));
    let staging = deps
        .platform
        .stage_restore(input.spec, input.record_id, &restore.from);
    match while_state::run(deps, ctx, input.record_id, InstanceState::Creating, staging).await? {
        Ok(Ok(())) => Ok(None),
        Ok(Err(error)) => refused_or_failed(ctx, name, "restoring", error).map(Some),
        Err(state) => Ok(Some(skipped(ctx, name, state))),
    }
}

fn skipped(ctx: &ActivityContext, name: &InstanceName, state: InstanceState) -> ProvisionOutcome {
    ctx.trace_warn(format!(
        "instance={name}: not deployed, the record is {state}"
    ));
    ProvisionOutcome::Skipped { state }
}

/// A platform error as the activity reports it: a refusal no retry can change is a
/// result, anything else an error to retry.
fn refused_or_failed(
    ctx: &ActivityContext,
    name: &InstanceName,
    doing: &str,
    error: PlatformError,
) -> Result<ProvisionOutcome, String> {
    match error {
        PlatformError::Unsupported(reason) => {
            ctx.trace_error(format!("instance={name}: platform refused: {reason}"));
            Ok(ProvisionOutcome::Refused { reason })
        }
        error => {
            let message = format!("{doing} instance {name}: {error}");
            ctx.trace_error(format!("instance={name}: {message}"));
            Err(message)
        }
    }
}

/// A deploy that took a warm data directory wakes the warm pool to make another.
async fn refill_if_claimed(ctx: &ActivityContext, name: &InstanceName, deployed: Deployed) {
    if !deployed.from_warm_pool {
        return;
    }
    ctx.trace_info(format!("instance={name}: deployed from the warm pool"));
    let sent = ctx
        .get_client()
        .enqueue_event(
            names::instance_ids::WARM_POOL,
            names::events::WARM_POOL_CLAIMED,
            "{}",
        )
        .await;
    if let Err(e) = sent {
        // The pool refills on its own timer too.
        ctx.trace_warn(format!(
            "instance={name}: could not wake the warm pool: {e}"
        ));
    }
}
