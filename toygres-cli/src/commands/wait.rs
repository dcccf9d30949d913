//! `wait NAME --for running|deleted [--timeout SECS]`, also behind `create --wait` and
//! `delete --wait`: follows the instance with long-polls (the server answers as soon as
//! it changes) and shows its state and current step.

use std::time::{Duration, Instant};

use toygres_domain::InstanceName;
use toygres_domain::api::InstanceView;

use crate::args::{Format, Target};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;
use crate::progress::Progress;

/// The longest one long-poll waits; well inside the HTTP client's timeout.
const LONG_POLL_SECS: u64 = 20;

pub async fn until(
    client: &ApiClient,
    name: &InstanceName,
    target: Target,
    timeout_secs: u64,
) -> Result<InstanceView, CliError> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let mut progress = Progress::start();
    // Without a tag the server answers at once, with the tag for the next long-poll.
    let first = client
        .watch(name.as_str(), None, LONG_POLL_SECS)
        .await?
        .ok_or_else(|| CliError::Failed(format!("the server sent no view of {name}")))?;
    let (mut instance, mut etag) = (first.instance, first.etag);
    let outcome = loop {
        progress.update(&describe(&instance));
        match (target, instance.state.as_str()) {
            (Target::Running, "running") | (Target::Deleted, "deleted") => break Ok(instance),
            (Target::Running, "failed") => {
                break Err(CliError::Failed(format!(
                    "{name} failed: {}",
                    instance
                        .last_error
                        .as_deref()
                        .unwrap_or("no error recorded")
                )));
            }
            (Target::Running, "deleting" | "deleted") => {
                break Err(CliError::Failed(format!(
                    "{name} is {} and will not run",
                    instance.state
                )));
            }
            _ if Instant::now() >= deadline => {
                break Err(CliError::Failed(format!(
                    "timed out after {timeout_secs}s waiting for {name} to be {}: it is {}",
                    target_name(target),
                    instance.state
                )));
            }
            _ => {
                let left = deadline.saturating_duration_since(Instant::now());
                let wait_secs = left.as_secs().clamp(1, LONG_POLL_SECS);
                if let Some(changed) = client
                    .watch(name.as_str(), etag.as_deref(), wait_secs)
                    .await?
                {
                    instance = changed.instance;
                    etag = changed.etag;
                }
            }
        }
    };
    progress.finish();
    outcome
}

pub fn report(format: Format, instance: &InstanceView) {
    match format {
        Format::Json => output::json(instance),
        Format::Table => match &instance.endpoint {
            Some(e) if instance.state == "running" => println!(
                "{} is running at {}:{} (connect with: toygres-cli connection-string {})",
                instance.name, e.host, e.port, instance.name
            ),
            _ => println!("{} is {}", instance.name, instance.state),
        },
    }
}

/// `shop: creating, deploying`: the state, and the step while one is in progress.
fn describe(instance: &InstanceView) -> String {
    let orchestration = match instance.state.as_str() {
        "creating" => Some(&instance.create_orchestration),
        "deleting" => instance.delete_orchestration.as_ref(),
        _ => None,
    };
    match orchestration.and_then(|o| o.step.as_ref()) {
        Some(step) => format!("{}: {}, {step}", instance.name, instance.state),
        None => format!("{}: {}", instance.name, instance.state),
    }
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Running => "running",
        Target::Deleted => "deleted",
    }
}
