//! Activities routed to a worker pool by tag, with retries.
//!
//! duroxide's retry helper cannot tag an activity, so this is the same loop around a
//! tagged `schedule_activity`: errors are retried after an exponential backoff (capped at
//! 30 s); there is deliberately no per-attempt timeout, because a tagged step may wait in
//! its pool's queue and waiting must never fail it. Each activity bounds its own work.

use std::time::Duration;

use duroxide::OrchestrationContext;
use serde::Serialize;
use serde::de::DeserializeOwned;

const MAX_DELAY: Duration = Duration::from_secs(30);

pub async fn run<I, O>(
    ctx: &OrchestrationContext,
    tag: &str,
    activity: &str,
    input: &I,
    attempts: u32,
    first_delay: Duration,
) -> Result<O, String>
where
    I: Serialize,
    O: DeserializeOwned + Send + 'static,
{
    let mut delay = first_delay;
    let mut attempt = 1;
    loop {
        let result = ctx
            .schedule_activity_typed::<I, O>(activity, input)
            .with_tag(tag)
            .await;
        match result {
            Ok(output) => return Ok(output),
            Err(error) if attempt >= attempts => return Err(error),
            Err(error) => {
                ctx.trace_warn(format!(
                    "{activity} attempt {attempt}/{attempts} failed: {error}; retrying in {delay:?}"
                ));
                ctx.schedule_timer(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
        }
    }
}
