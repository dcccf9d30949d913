//! Stores one probe result and tells the actor whether the instance is still `running`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use duroxide::ActivityContext;

use crate::Dependencies;
use crate::activity_types::{RecordHealthInput, RecordHealthOutput};
use toygres_cms::health::{self, HealthCheck};

pub const NAME: &str = crate::names::activities::CMS_RECORD_HEALTH;

pub async fn run(
    deps: Arc<Dependencies>,
    _ctx: ActivityContext,
    input: RecordHealthInput,
) -> Result<RecordHealthOutput, String> {
    let checked_at: DateTime<Utc> =
        (UNIX_EPOCH + Duration::from_millis(input.checked_at_ms)).into();
    let check = HealthCheck {
        checked_at,
        ok: input.probe.ok,
        latency_ms: input
            .probe
            .latency_ms
            .map(|ms| ms.min(i32::MAX as u64) as i32),
        message: input.probe.message,
    };
    let state = health::record(&deps.cms, input.instance_id, &check)
        .await
        .map_err(|e| e.to_string())?;
    Ok(RecordHealthOutput { state })
}
