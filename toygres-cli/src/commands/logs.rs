//! `logs NAME [--follow] [--since 10m] [--tail N]`: the instance's PostgreSQL server log,
//! printed as it arrives (text only: a log is already lines).

use std::io::Write;

use toygres_domain::InstanceName;

use crate::client::{ApiClient, LogQuery};
use crate::error::CliError;

pub async fn run(
    client: &ApiClient,
    name: &InstanceName,
    query: &LogQuery,
) -> Result<(), CliError> {
    let mut response = client.logs(name.as_str(), query).await?;
    let mut out = std::io::stdout();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| CliError::Failed(format!("reading the log of {name}: {e}")))?;
        let Some(chunk) = chunk else {
            return Ok(());
        };
        if let Err(error) = out.write_all(&chunk).and_then(|()| out.flush()) {
            // A reader that has gone (`| head`) ends it quietly.
            return match error.kind() {
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(CliError::Failed(format!("writing the log: {error}"))),
            };
        }
    }
}
