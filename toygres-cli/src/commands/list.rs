//! `list`

use crate::args::Format;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

pub async fn run(client: &ApiClient, format: Format) -> Result<(), CliError> {
    let list = client.list().await?;
    match format {
        Format::Json => output::json(&list),
        Format::Table => output::instance_table(&list.instances),
    }
    Ok(())
}
