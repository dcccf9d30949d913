//! `label NAME KEY=VALUE ... KEY- ...`: sets and removes labels, as `kubectl label` does
//! (`create --label KEY=VALUE` reads its pairs here too).

use toygres_domain::api::LabelsRequest;
use toygres_domain::{InstanceName, Labels};

use crate::args::Format;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

pub async fn run(
    client: &ApiClient,
    format: Format,
    name: &InstanceName,
    changes: &[String],
) -> Result<(), CliError> {
    let mut change = LabelsRequest::default();
    for item in changes {
        match item.strip_suffix('-') {
            Some(key) if !item.contains('=') => change.remove.push(key.to_string()),
            _ => {
                let (key, value) = pair(item)?;
                change.set.insert(key, value);
            }
        }
    }
    let instance = client.label(name.as_str(), &change).await?;
    match format {
        Format::Json => output::json(&instance),
        Format::Table => output::say!("{name} labels: {}", output::labels(&instance.labels)),
    }
    Ok(())
}

/// `KEY=VALUE` pairs as labels (checked by the server).
pub fn pairs(items: &[String]) -> Result<Labels, CliError> {
    items.iter().map(|item| pair(item)).collect()
}

fn pair(item: &str) -> Result<(String, String), CliError> {
    item.split_once('=')
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "\"{item}\" is neither KEY=VALUE nor KEY- (e.g. team=web, team-)"
            ))
        })
}
