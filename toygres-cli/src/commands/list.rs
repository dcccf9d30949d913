//! `list [-l SELECTOR]`

use crate::args::Format;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

pub async fn run(
    client: &ApiClient,
    format: Format,
    selector: Option<&str>,
) -> Result<(), CliError> {
    let list = client.list(selector).await?;
    match format {
        Format::Json => output::json(&list),
        Format::Table => output::instance_table(&list.instances),
    }
    Ok(())
}
