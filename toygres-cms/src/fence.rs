//! Fencing platform side effects with the CMS row.
//!
//! A deploy must never run after a delete has begun, and a delete must never run for a
//! record whose name a newer instance may already hold. Both hold the instance row's lock
//! for the length of the platform call and act only in the states that permit it, so a
//! concurrent transition (say, `creating → deleting`) waits for the call to finish and any
//! later call sees the new state and does nothing.

use std::future::Future;

use sqlx::PgPool;
use uuid::Uuid;

use super::InstanceState;
use super::instances::{CmsError, lock_state};

/// What a fenced call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fenced<T> {
    Done(T),
    /// The record was not in an allowed state; the work did not run.
    Skipped {
        current: InstanceState,
    },
}

pub async fn while_in_state<T, E, F, Fut>(
    pool: &PgPool,
    id: Uuid,
    allowed: &[InstanceState],
    work: F,
) -> Result<Result<Fenced<T>, E>, CmsError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut tx = pool.begin().await?;
    let current = lock_state(&mut tx, id).await?;
    if !allowed.contains(&current) {
        return Ok(Ok(Fenced::Skipped { current }));
    }
    let outcome = work().await;
    tx.commit().await?;
    Ok(outcome.map(Fenced::Done))
}
