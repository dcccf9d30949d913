//! `delete NAME [--wait] [--timeout SECS]`

use toygres_domain::InstanceName;

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
            Format::Table => println!(
                "deleting {name} (orchestration {}); its backups are kept until they expire or are deleted (toygres-cli backup list {name})",
                accepted.orchestration_id
            ),
        }
        return Ok(());
    }
    let instance = wait::until(client, name, Target::Deleted, timeout).await?;
    wait::report(format, &instance);
    if format == Format::Table {
        println!(
            "its backups are kept until they expire or are deleted (toygres-cli backup list {name})"
        );
    }
    Ok(())
}
