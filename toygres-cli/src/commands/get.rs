//! `get NAME`

use toygres_domain::InstanceName;

use crate::args::Format;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

pub async fn run(client: &ApiClient, format: Format, name: &InstanceName) -> Result<(), CliError> {
    let instance = client.get(name.as_str()).await?;
    match format {
        Format::Json => output::json(&instance),
        Format::Table => output::instance_details(&instance),
    }
    Ok(())
}
