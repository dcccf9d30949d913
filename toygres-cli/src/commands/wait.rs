//! `wait NAME --for running|deleted [--timeout SECS]`, also behind `create --wait` and
//! `delete --wait`: follows the instance with long-polls (the server answers as soon as
//! it changes) and shows its state and current step.

use std::time::{Duration, Instant};

use toygres_domain::api::InstanceView;
use toygres_domain::{InstanceName, InstanceState};

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
        match verdict(target, &instance) {
            Verdict::Reached => break Ok(instance),
            Verdict::WillNot(why) => break Err(CliError::Failed(format!("{name} {why}"))),
            Verdict::NotYet if Instant::now() >= deadline => {
                break Err(CliError::Failed(format!(
                    "timed out after {timeout_secs}s waiting for {name} to be {}: it is {}",
                    target_name(target),
                    instance.state
                )));
            }
            Verdict::NotYet => {
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
            Some(e) if instance.state == InstanceState::Running => crate::output::say!(
                "{} is running at {}:{} (connect with: toygres-cli connection-string {})",
                instance.name,
                e.host,
                e.port,
                instance.name
            ),
            _ => crate::output::say!("{} is {}", instance.name, instance.state),
        },
    }
}

/// Where an instance stands against what the user waits for.
enum Verdict {
    Reached,
    NotYet,
    /// It will never get there; says why, after the name.
    WillNot(String),
}

/// Every state is named, so a new one must be placed here before the CLI compiles.
fn verdict(target: Target, instance: &InstanceView) -> Verdict {
    use InstanceState::{
        Configuring, Creating, Deleted, Deleting, Failed, FailingOver, Restarting, Running,
        Starting, Stopped, Stopping, SwitchingOver,
    };
    let failed = || {
        Verdict::WillNot(format!(
            "failed: {}",
            instance
                .last_error
                .as_deref()
                .unwrap_or("no error recorded")
        ))
    };
    let will_not = |state: InstanceState| {
        Verdict::WillNot(format!(
            "is {state} and will not be {}",
            target_name(target)
        ))
    };
    match (target, instance.state) {
        (Target::Running, Running) | (Target::Stopped, Stopped) | (Target::Deleted, Deleted) => {
            Verdict::Reached
        }
        (Target::Running | Target::Stopped, Failed) => failed(),
        (
            Target::Running,
            Creating | Starting | Restarting | Configuring | SwitchingOver | FailingOver,
        )
        | (Target::Stopped, Stopping) => Verdict::NotYet,
        (Target::Running, state @ (Stopping | Stopped | Deleting | Deleted))
        | (
            Target::Stopped,
            state @ (Creating | Running | Starting | Restarting | Configuring | SwitchingOver
            | FailingOver),
        )
        | (Target::Stopped, state @ (Deleting | Deleted)) => will_not(state),
        (
            Target::Deleted,
            Creating | Running | Stopping | Stopped | Starting | Restarting | Configuring
            | SwitchingOver | FailingOver | Deleting | Failed,
        ) => Verdict::NotYet,
    }
}

/// `shop: creating, deploying`: the state, and the step while one is in progress.
fn describe(instance: &InstanceView) -> String {
    let orchestration = match instance.state {
        InstanceState::Creating => Some(&instance.create_orchestration),
        InstanceState::Deleting => instance.delete_orchestration.as_ref(),
        InstanceState::Stopping
        | InstanceState::Starting
        | InstanceState::Restarting
        | InstanceState::Configuring
        | InstanceState::SwitchingOver
        | InstanceState::FailingOver => instance.operation.as_ref(),
        InstanceState::Running
        | InstanceState::Stopped
        | InstanceState::Deleted
        | InstanceState::Failed => None,
    };
    match orchestration.and_then(|o| o.step.as_ref()) {
        Some(step) => format!("{}: {}, {step}", instance.name, instance.state),
        None => format!("{}: {}", instance.name, instance.state),
    }
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Running => "running",
        Target::Stopped => "stopped",
        Target::Deleted => "deleted",
    }
}
