//! One health check of the instance actor 1.1.0: a real login and `SELECT 1`, stored in
//! the same step, returning the record's state so the actor knows whether to go on.
//!
//! An unreachable instance is a result (`ok: false`), not an activity failure. The row is
//! keyed by the actor's incarnation and the check's number, so a re-run stores nothing
//! twice, and the database stamps the time (no orchestration clock round trip).

use std::sync::Arc;

use duroxide::ActivityContext;

use super::readiness;
use crate::Dependencies;
use crate::activity_types::{CheckHealthInput, RecordHealthOutput};
use crate::platform::Login;
use toygres_cms::health::{self, Probe};

pub const NAME: &str = crate::names::activities::CHECK_HEALTH;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: CheckHealthInput,
) -> Result<RecordHealthOutput, String> {
    let name = &input.name;
    let result = readiness::log_in(&deps, name, Login::Monitor)
        .await
        .map(|(_, latency)| latency);
    let probe = match result {
        Ok(latency) => {
            deps.measures
                .health_check_latency
                .record(latency.as_secs_f64());
            Probe {
                ok: true,
                latency_ms: Some(latency.as_millis().min(i32::MAX as u128) as i32),
                message: None,
            }
        }
        Err(message) => {
            ctx.trace_warn(format!("instance={name}: health probe failed: {message}"));
            Probe {
                ok: false,
                latency_ms: None,
                message: Some(message),
            }
        }
    };
    let key = format!("{}/{}", input.incarnation, input.cycle);
    let state = health::record_probe(&deps.cms, input.record_id, &key, &probe)
        .await
        .map_err(|e| e.to_string())?;
    Ok(RecordHealthOutput { state })
}
