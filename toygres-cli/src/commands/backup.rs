//! `backup create|list|schedule|delete`: backups of instances (pgBackRest on the local
//! platform), taken on request or on a schedule, kept after their instance is deleted.

use std::time::{Duration, Instant};

use chrono::Utc;
use toygres_domain::BackupState;
use toygres_domain::api::{BackupView, ScheduleRequest};
use uuid::Uuid;

use super::parse_name;
use crate::args::{BackupCommand, Format};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;
use crate::progress::Progress;

const POLL: Duration = Duration::from_millis(250);

pub async fn run(
    client: &ApiClient,
    format: Format,
    command: BackupCommand,
) -> Result<(), CliError> {
    match command {
        BackupCommand::Create {
            name,
            wait,
            timeout,
        } => {
            let name = parse_name(&name)?;
            let accepted = client.backup_create(name.as_str()).await?;
            if !wait {
                match format {
                    Format::Json => output::json(&accepted),
                    Format::Table => crate::output::say!(
                        "backing up {name}: backup {} (orchestration {})",
                        accepted.backup.id,
                        accepted.orchestration_id
                    ),
                }
                return Ok(());
            }
            let backup = until_done(client, accepted.backup.id, timeout).await?;
            match format {
                Format::Json => output::json(&backup),
                Format::Table => crate::output::say!(
                    "backup {} of {name} completed: {} in {}",
                    backup.id,
                    size(backup.size_bytes),
                    took(&backup)
                ),
            }
            Ok(())
        }
        BackupCommand::List { name } => {
            let name = name.map(|name| parse_name(&name)).transpose()?;
            let list = client.backups(name.as_ref().map(|n| n.as_str())).await?;
            match format {
                Format::Json => output::json(&list),
                Format::Table => table(&list.backups),
            }
            Ok(())
        }
        BackupCommand::Schedule {
            name,
            every,
            keep,
            off,
        } => {
            let name = parse_name(&name)?;
            let request = every
                .filter(|_| !off)
                .map(|every_secs| ScheduleRequest { every_secs, keep });
            let schedule = client.schedule(name.as_str(), request.as_ref()).await?;
            match (format, &schedule.schedule) {
                (Format::Json, _) => output::json(&schedule),
                (Format::Table, Some(set)) => crate::output::say!(
                    "{name} is backed up every {}, keeping the newest {}",
                    every_text(set.every_secs),
                    set.keep
                ),
                (Format::Table, None) => {
                    crate::output::say!("{name} has no backup schedule (its backups stay)")
                }
            }
            Ok(())
        }
        BackupCommand::Delete { id, wait, timeout } => {
            let accepted = client.backup_delete(id).await?;
            if wait {
                until_gone(client, id, timeout).await?;
            }
            match format {
                Format::Json => output::json(&accepted),
                Format::Table if wait => crate::output::say!("backup {id} deleted"),
                Format::Table => crate::output::say!(
                    "deleting backup {id} (orchestration {})",
                    accepted.orchestration_id
                ),
            }
            Ok(())
        }
    }
}

async fn until_done(client: &ApiClient, id: Uuid, timeout: u64) -> Result<BackupView, CliError> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut progress = Progress::start();
    let outcome = loop {
        let backup = client.backup(id).await?;
        let step = backup.orchestration.step.clone().unwrap_or_default();
        progress.update(&format!("backup {id}: {} {step}", backup.state));
        match backup.state {
            BackupState::Completed => break Ok(backup),
            BackupState::Failed | BackupState::Expired | BackupState::Deleted => {
                break Err(CliError::Failed(format!(
                    "backup {id} is {}: {}",
                    backup.state,
                    backup.error.as_deref().unwrap_or("no error recorded")
                )));
            }
            BackupState::Running if Instant::now() >= deadline => {
                break Err(CliError::Failed(format!(
                    "timed out after {timeout}s waiting for backup {id}"
                )));
            }
            BackupState::Running => tokio::time::sleep(POLL).await,
        }
    };
    progress.finish();
    outcome
}

async fn until_gone(client: &ApiClient, id: Uuid, timeout: u64) -> Result<(), CliError> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let backup = client.backup(id).await?;
        if backup.state == BackupState::Deleted {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CliError::Failed(format!(
                "timed out after {timeout}s waiting for backup {id} to be deleted (it is {})",
                backup.state
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn table(backups: &[BackupView]) {
    let rows: Vec<[String; 7]> = backups
        .iter()
        .map(|b| {
            [
                b.id.to_string(),
                b.instance.clone(),
                b.state.to_string(),
                size(b.size_bytes),
                b.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                b.finished_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                restorable_until(b),
            ]
        })
        .collect();
    output::print_table(
        [
            "ID",
            "INSTANCE",
            "STATE",
            "SIZE",
            "STARTED",
            "FINISHED",
            "RESTORABLE-UNTIL",
        ],
        &rows,
    );
}

fn restorable_until(backup: &BackupView) -> String {
    match (backup.state, backup.restorable_until) {
        (BackupState::Completed, None) => "now".into(),
        (BackupState::Completed, Some(until)) => until.format("%Y-%m-%d %H:%M:%S").to_string(),
        _ => String::new(),
    }
}

fn size(bytes: Option<u64>) -> String {
    match bytes {
        None => String::new(),
        Some(bytes) if bytes >= 1 << 30 => format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64),
        Some(bytes) => format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64),
    }
}

fn took(backup: &BackupView) -> String {
    let end = backup.finished_at.unwrap_or_else(Utc::now);
    format!("{:.1}s", (end - backup.started_at).as_seconds_f64())
}

fn every_text(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
