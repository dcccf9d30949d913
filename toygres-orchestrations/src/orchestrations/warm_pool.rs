//! warm-pool 1.0.0: the system orchestration that keeps pre-initialised data directories
//! ready on the local platform, off the create path.
//!
//! fill up to `size` (on the platform worker pool) → wait until a deploy claims one
//! (WarmPoolClaimed on the event queue) or `interval` passes → `continue_as_new`. One per
//! store, under a fixed id, started by the server when the platform has a warm pool and
//! the size is not 0.

use std::time::Duration;

use duroxide::OrchestrationContext;

use super::tagged;
use crate::activity_types::WarmPoolReport;
use crate::names::{activities, events, tags};
use crate::types::WarmPoolInput;

pub async fn warm_pool(ctx: OrchestrationContext, input: WarmPoolInput) -> Result<(), String> {
    ctx.set_custom_status("filling");
    let filled = tagged::run::<_, WarmPoolReport>(
        &ctx,
        tags::PLATFORM,
        activities::FILL_WARM_POOL,
        &input.size,
        3,
        Duration::from_secs(5),
    )
    .await;
    if let Err(error) = filled {
        // Creates still work without warm directories, only slower; try again later.
        ctx.trace_warn(format!("filling the warm pool failed: {error}"));
    }
    ctx.set_custom_status("waiting for a claim");
    let timer = ctx.schedule_timer(Duration::from_secs(input.interval_secs));
    let claimed = ctx.dequeue_event(events::WARM_POOL_CLAIMED);
    ctx.select2(timer, claimed).await;
    let next = WarmPoolInput {
        cycle: input.cycle + 1,
        ..input
    };
    ctx.continue_as_new_typed(&next).await.map(|_| ())
}
