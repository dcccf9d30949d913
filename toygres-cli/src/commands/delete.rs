//! `delete NAME [--wait] [--timeout SECS]`

use toygres_domain::{BackupState, InstanceName};

use super::wait;
use crate::args::{Format, Target};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

pub async fn run(
    client: &ApiClient,
    format: Format,
    name: &InstanceName,
    wait_for_it: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let accepted = client.delete(name.as_str()).await?;
    if !wait_for_it {
        match format {
            Format::Json => output::json(&accepted),
            Format::Table => crate::output::say!(
                "deleting {name} (orchestration {})",
                accepted.orchestration_id
            ),
        }
    } else {
        let instance = wait::until(client, name, Target::Deleted, timeout).await?;
        wait::report(format, &instance);
    }
    if format == Format::Table {
        say_backups_are_kept(client, name).await;
    }
    Ok(())
}

/// Backups outlive their instance: says so when the instance has any.
async fn say_backups_are_kept(client: &ApiClient, name: &InstanceName) {
    // Where backups are not supported there are none to mention.
    let Ok(list) = client.backups(Some(name.as_str())).await else {
        return;
    };
    let kept = list
        .backups
        .iter()
        .filter(|backup| backup.state == BackupState::Completed)
        .count();
    if kept > 0 {
        crate::output::say!(
            "its {kept} backup(s) are kept until deleted (toygres-cli backup list {name}; toygres-cli backup delete ID)"
        );
    }
}
