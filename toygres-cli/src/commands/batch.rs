//! `create NAME --count N` and `delete NAME NAME... | -l SELECTOR`: many instances as
//! one batch operation. A delete of several says what it will delete and asks first
//! (unless `--yes`; never silently when nobody is there to answer). With `--wait`, follows
//! the operation to its end and prints its summary; any instance that failed makes the
//! exit non-zero.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use toygres_domain::OperationStatus;
use toygres_domain::api::{BatchAccepted, BatchCreateRequest, BatchDeleteRequest, BatchOutput};

use super::parse_name;
use crate::args::Format;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

/// What a delete of several names: the names, or a selector.
pub struct Chosen {
    pub names: Vec<String>,
    pub selector: Option<String>,
}

pub async fn create(
    client: &ApiClient,
    format: Format,
    request: &BatchCreateRequest,
    wait: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let accepted = client.batch_create(request).await?;
    follow(client, format, accepted, Verb::Create, wait, timeout).await
}

pub async fn delete(
    client: &ApiClient,
    format: Format,
    chosen: Chosen,
    yes: bool,
    wait: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let names = match &chosen.selector {
        Some(selector) => client
            .list(Some(selector))
            .await?
            .instances
            .into_iter()
            .map(|instance| instance.name)
            .collect(),
        None => {
            for name in &chosen.names {
                parse_name(name)?;
            }
            chosen.names
        }
    };
    if names.is_empty() {
        let selector = chosen.selector.unwrap_or_default();
        return match format {
            Format::Json => {
                output::json(&BatchAccepted {
                    orchestration_id: None,
                    instances: Vec::new(),
                });
                Ok(())
            }
            Format::Table => {
                output::say!("no live instance matches {selector}: nothing to delete");
                Ok(())
            }
        };
    }
    if !yes {
        confirm(&names)?;
    }
    let request = BatchDeleteRequest {
        selector: None,
        names,
    };
    let accepted = client.batch_delete(&request).await?;
    follow(client, format, accepted, Verb::Delete, wait, timeout).await
}

/// Asks on the terminal whether to delete `names`.
fn confirm(names: &[String]) -> Result<(), CliError> {
    let what = format!("{} instance(s): {}", names.len(), names.join(", "));
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "this deletes {what}; nobody is at a terminal to confirm it: add --yes"
        )));
    }
    eprint!("delete {what}? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("reading the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::Failed("nothing deleted".into())),
    }
}

#[derive(Debug, Clone, Copy)]
enum Verb {
    Create,
    Delete,
}

impl Verb {
    fn doing(self) -> &'static str {
        match self {
            Self::Create => "creating",
            Self::Delete => "deleting",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Delete => "deleted",
        }
    }
}

async fn follow(
    client: &ApiClient,
    format: Format,
    accepted: BatchAccepted,
    verb: Verb,
    wait: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let Some(id) = accepted.orchestration_id.clone() else {
        match format {
            Format::Json => output::json(&accepted),
            Format::Table => output::say!("nothing to do"),
        }
        return Ok(());
    };
    if !wait {
        match format {
            Format::Json => output::json(&accepted),
            Format::Table => output::say!(
                "{} {} instance(s) as one operation ({id}); follow it with: toygres-cli operations show {id}",
                verb.doing(),
                accepted.instances.len()
            ),
        }
        return Ok(());
    }
    let summary = until_done(client, &id, timeout).await?;
    match format {
        Format::Json => output::json(&summary),
        Format::Table => {
            output::say!(
                "{} {} of {} instance(s) ({id})",
                verb.done(),
                summary.succeeded.len(),
                summary.total
            );
            for failure in &summary.failed {
                output::say!("  {}: {}", failure.name, failure.error);
            }
        }
    }
    match summary.failed.len() {
        0 => Ok(()),
        failed => Err(CliError::Failed(format!(
            "{failed} of {} instance(s) failed",
            summary.total
        ))),
    }
}

/// The batch's summary once it has ended.
async fn until_done(client: &ApiClient, id: &str, timeout: u64) -> Result<BatchOutput, CliError> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let detail = match client.operation(id).await {
            Ok(detail) => detail,
            // Started, not yet written by the runtime.
            Err(CliError::NotFound(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(error) => return Err(error),
        };
        match detail.summary.status {
            OperationStatus::Completed => {
                let output = detail.output.unwrap_or_default();
                return serde_json::from_value(output)
                    .map_err(|e| CliError::Failed(format!("reading the summary of {id}: {e}")));
            }
            OperationStatus::Failed => {
                return Err(CliError::Failed(format!(
                    "batch {id} failed: {}",
                    detail.error.unwrap_or_default()
                )));
            }
            // Not picked up yet, or the store did not answer this time.
            OperationStatus::Running | OperationStatus::NotFound | OperationStatus::Unknown => {}
        }
        if Instant::now() > deadline {
            return Err(CliError::Failed(format!(
                "batch {id} still runs after {timeout}s ({}); follow it with: toygres-cli operations show {id}",
                detail.summary.step.unwrap_or_default()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
