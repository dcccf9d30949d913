//! Refills the local platform's warm pool up to its size (see
//! `platform::local::warm_pool`). Runs on the platform worker pool: `initdb` is long work
//! and shares the platform's `initdb` slots with deploys, so a refill never runs ahead of
//! a create that needs one.

use std::sync::Arc;

use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::WarmPoolReport;

pub const NAME: &str = crate::names::activities::FILL_WARM_POOL;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    size: u32,
) -> Result<WarmPoolReport, String> {
    let fill = deps
        .platform
        .fill_warm_pool(size)
        .await
        .map_err(|e| format!("filling the warm pool: {e}"))?;
    if fill.made > 0 {
        ctx.trace_info(format!(
            "warm pool: made {}, {} ready",
            fill.made, fill.ready
        ));
    }
    Ok(WarmPoolReport {
        ready: fill.ready,
        made: fill.made,
    })
}
