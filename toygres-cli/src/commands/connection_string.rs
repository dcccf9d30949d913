//! `connection-string NAME`: prints only the string, for `psql "$(toygres-cli connection-string NAME)"`.

use toygres_domain::InstanceName;

use crate::client::ApiClient;
use crate::error::CliError;

pub async fn run(client: &ApiClient, name: &InstanceName) -> Result<(), CliError> {
    let connection = client.connection(name.as_str()).await?;
    println!("{}", connection.connection_string);
    Ok(())
}
