//! One health check of the instance actor (every check of 1.1.0, the first of each
//! execution of 1.2.0): a real login that reads how WAL archiving
//! goes, the disk's fill, judged by the guardrails, stored in the same step; it returns the
//! record's state so the actor knows whether to go on.
//!
//! An unreachable instance is a result (`ok: false`), not an activity failure. The row is
//! keyed by the actor's incarnation and the check's number, so a re-run stores nothing
//! twice, and the database stamps the time (no orchestration clock round trip). A change
//! of health is logged once, when it is recorded.

use std::sync::Arc;

use duroxide::ActivityContext;

use super::guardrails;
use crate::Dependencies;
use crate::activity_types::{CheckHealthInput, RecordHealthOutput};
use crate::domain::InstanceName;
use crate::platform::{Login, probe};
use toygres_cms::health::{self, Probe};

pub const NAME: &str = crate::names::activities::CHECK_HEALTH;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: CheckHealthInput,
) -> Result<RecordHealthOutput, String> {
    let name = &input.name;
    let probe = examine(&deps, name, |warning| ctx.trace_warn(warning)).await;
    let key = format!("{}/{}", input.incarnation, input.cycle);
    let recorded = health::record_probe(&deps.cms, input.record_id, &key, &probe)
        .await
        .map_err(|e| e.to_string())?;
    if let Some((from, to)) = recorded.change {
        ctx.trace_info(format!(
            "instance={name}: health {from} -> {to}{}",
            probe
                .message
                .as_ref()
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default()
        ));
    }
    Ok(RecordHealthOutput {
        state: recorded.state,
    })
}

/// Probes `name` once: a login as the monitor that reads how WAL archiving goes, and the
/// disk's fill, judged by the guardrails. What went wrong on the way is handed to `warn`.
/// Shared by this activity and the health sweep, so both judge an instance alike.
pub(crate) async fn examine(
    deps: &Dependencies,
    name: &InstanceName,
    warn: impl Fn(String),
) -> Probe {
    match vitals(deps, name).await {
        Ok(vitals) => {
            deps.measures
                .health_check_latency
                .record(vitals.latency.as_secs_f64());
            let disk = deps.platform.disk_usage(name).await.unwrap_or_else(|e| {
                warn(format!("instance={name}: measuring its disk: {e}"));
                None
            });
            let verdict = guardrails::judge(&vitals.archiving, disk);
            Probe {
                ok: true,
                latency_ms: Some(vitals.latency.as_millis().min(i32::MAX as u128) as i32),
                message: verdict.degraded,
                wal_archived_until: verdict.wal_archived_until,
            }
        }
        Err(message) => {
            warn(format!("instance={name}: health probe failed: {message}"));
            Probe {
                ok: false,
                latency_ms: None,
                message: Some(message),
                wal_archived_until: None,
            }
        }
    }
}

/// Logs in as the monitor and reads the archiver.
async fn vitals(deps: &Dependencies, name: &InstanceName) -> Result<probe::Vitals, String> {
    let endpoint = deps
        .platform
        .endpoint(name)
        .await
        .map_err(|e| e.to_string())?;
    let credentials = deps
        .platform
        .credentials(name, Login::Monitor)
        .await
        .map_err(|e| e.to_string())?;
    probe::vitals(&endpoint, &credentials, deps.probe_timeout).await
}
