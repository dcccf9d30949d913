//! Waiting for a server that was just (re)started, and proving it with a login: shared by
//! provision-instance and operate-instance. Bounded by a deadline the caller computes from
//! when its work began, never by time spent in a queue.

use std::time::{Duration, Instant};

use crate::Dependencies;
use crate::domain::InstanceName;
use crate::platform::probe;
use crate::platform::{Endpoint, InstanceStatus, Login};

const FIRST_STATUS_DELAY: Duration = Duration::from_millis(50);
const MAX_STATUS_DELAY: Duration = Duration::from_secs(2);

/// `Ok(Err(reason))` when the server will not become ready; `Err` for a failure a retry
/// may cure.
pub async fn wait_until_ready(
    deps: &Dependencies,
    name: &InstanceName,
    started: Instant,
    deadline: Instant,
) -> Result<Result<(), String>, String> {
    let mut delay = FIRST_STATUS_DELAY;
    loop {
        let status = deps
            .platform
            .status(name)
            .await
            .map_err(|e| e.to_string())?;
        match status {
            InstanceStatus::Ready => return Ok(Ok(())),
            InstanceStatus::Missing => {
                return Ok(Err(format!(
                    "instance {name} disappeared while it was starting"
                )));
            }
            InstanceStatus::Failed { reason } => {
                return Ok(Err(format!("instance {name} cannot start: {reason}")));
            }
            InstanceStatus::NotReady { reason } if Instant::now() >= deadline => {
                return Ok(Err(format!(
                    "instance {name} was not ready after {}s: {reason}",
                    started.elapsed().as_secs()
                )));
            }
            InstanceStatus::NotReady { .. } => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_STATUS_DELAY);
            }
        }
    }
}

/// Logs in to `name` as `login` over TLS and runs `SELECT 1`: the create's last check
/// (and a restart's) with the owner's login, what the user gets; the health probe with the
/// monitor's. Where it answered, and how long that took.
pub async fn log_in(
    deps: &Dependencies,
    name: &InstanceName,
    login: Login,
) -> Result<(Endpoint, Duration), String> {
    let endpoint = deps
        .platform
        .endpoint(name)
        .await
        .map_err(|e| e.to_string())?;
    let credentials = deps
        .platform
        .credentials(name, login)
        .await
        .map_err(|e| e.to_string())?;
    let latency = probe::select_one(&endpoint, &credentials, deps.probe_timeout).await?;
    Ok((endpoint, latency))
}
