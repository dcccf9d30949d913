//! Long platform work that must stop when its instance moves on, without holding the
//! record's lock (see `cms::fence` for short work that does).
//!
//! A backup or the copying of a restore can take hours: holding the row lock that long
//! would make a delete wait for it, and tie up a worker and a database connection while it
//! waits. Instead the record's state is read every [`CHECK`] while the work runs; when it
//! is no longer the one the work needs (a delete wins), the work is dropped, which kills
//! its child processes, and the caller is told the state it found. An operator's cancel of
//! the operation drops it the same way.
//!
//! A read that fails (the control database restarting, a pool briefly exhausted) is not a
//! reason to throw hours of work away: the work goes on while the state has been
//! unreadable for less than [`READ_OUTAGE_BUDGET`], and only a longer outage ends it.

use std::future::Future;
use std::time::{Duration, Instant};

use duroxide::ActivityContext;
use uuid::Uuid;

use crate::Dependencies;
use toygres_cms::{InstanceState, instances};

/// How often the record's state is read while the work runs.
const CHECK: Duration = Duration::from_millis(500);
/// How long the work goes on without a successful read of the record's state.
const READ_OUTAGE_BUDGET: Duration = Duration::from_secs(60);

/// Runs `work` while record `record_id` stays in `state`: its output, or the state the
/// record moved to (the work was abandoned, or never began).
pub async fn run<T>(
    deps: &Dependencies,
    ctx: &ActivityContext,
    record_id: Uuid,
    state: InstanceState,
    work: impl Future<Output = T>,
) -> Result<Result<T, InstanceState>, String> {
    if let Some(moved) = moved_from(deps, record_id, state).await? {
        return Ok(Err(moved));
    }
    tokio::pin!(work);
    let mut last_read = Instant::now();
    let mut outage_said = false;
    loop {
        tokio::select! {
            done = &mut work => return Ok(Ok(done)),
            _ = ctx.cancelled() => return Err("the operation was cancelled".into()),
            _ = tokio::time::sleep(CHECK) => match moved_from(deps, record_id, state).await {
                Ok(Some(moved)) => return Ok(Err(moved)),
                Ok(None) => (last_read, outage_said) = (Instant::now(), false),
                Err(error) => tolerate(ctx, last_read, &mut outage_said, error)?,
            },
        }
    }
}

/// Ok while the state has been unreadable for less than the budget (said once per
/// outage); the error after.
fn tolerate(
    ctx: &ActivityContext,
    last_read: Instant,
    said: &mut bool,
    error: String,
) -> Result<(), String> {
    let unreadable_for = last_read.elapsed();
    if unreadable_for >= READ_OUTAGE_BUDGET {
        return Err(format!(
            "the record's state has been unreadable for {}s: {error}",
            unreadable_for.as_secs()
        ));
    }
    if !std::mem::replace(said, true) {
        ctx.trace_warn(format!(
            "the record's state is unreadable ({error}); the work goes on for up to {}s",
            READ_OUTAGE_BUDGET.as_secs()
        ));
    }
    Ok(())
}

/// The record's state when it is no longer `state` (a record gone counts as deleted).
async fn moved_from(
    deps: &Dependencies,
    record_id: Uuid,
    state: InstanceState,
) -> Result<Option<InstanceState>, String> {
    let record = instances::get(&deps.cms, record_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(match record {
        Some(record) if record.state == state => None,
        Some(record) => Some(record.state),
        None => Some(InstanceState::Deleted),
    })
}
