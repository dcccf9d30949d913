//! `config show NAME`, `config set NAME K=V ... [--wait]`, `config reset NAME K ...
//! [--wait]`: an instance's PostgreSQL parameters.

use toygres_domain::api::{ConfigChangeRequest, ConfigView};

use super::operation::{self, Kind};
use super::parse_name;
use crate::args::{ConfigCommand, Format};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::{self, print_table};

pub async fn run(
    client: &ApiClient,
    format: Format,
    command: ConfigCommand,
) -> Result<(), CliError> {
    match command {
        ConfigCommand::Show { name } => {
            let view = client.config(parse_name(&name)?.as_str()).await?;
            match format {
                Format::Json => output::json(&view),
                Format::Table => table(&view),
            }
            Ok(())
        }
        ConfigCommand::Set {
            name,
            parameters,
            wait,
            timeout,
        } => {
            let change = ConfigChangeRequest {
                set: parameters
                    .iter()
                    .map(|pair| assignment(pair))
                    .collect::<Result<_, _>>()?,
                reset: Vec::new(),
            };
            let name = parse_name(&name)?;
            operation::run(
                client,
                format,
                &name,
                Kind::Configure { change },
                wait,
                timeout,
            )
            .await
        }
        ConfigCommand::Reset {
            name,
            parameters,
            wait,
            timeout,
        } => {
            let change = ConfigChangeRequest {
                set: Default::default(),
                reset: parameters,
            };
            let name = parse_name(&name)?;
            operation::run(
                client,
                format,
                &name,
                Kind::Configure { change },
                wait,
                timeout,
            )
            .await
        }
    }
}

/// `work_mem=64MB` → (`work_mem`, `64MB`).
fn assignment(pair: &str) -> Result<(String, String), CliError> {
    match pair.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(CliError::Usage(format!(
            "\"{pair}\" is not NAME=VALUE (e.g. work_mem=64MB)"
        ))),
    }
}

/// `NAME VALUE SOURCE ASKED RESTART`: RESTART says `pending` for a change that waits for
/// one, `needed` for a parameter whose changes need one.
fn table(view: &ConfigView) {
    let rows: Vec<[String; 5]> = view
        .parameters
        .iter()
        .map(|p| {
            let restart = match (p.pending_restart, p.needs_restart) {
                (true, _) => "pending",
                (false, true) => "needed",
                (false, false) => "-",
            };
            [
                p.name.clone(),
                p.value.clone(),
                p.source.clone(),
                p.desired.clone().unwrap_or_else(|| "-".into()),
                restart.into(),
            ]
        })
        .collect();
    print_table(["NAME", "VALUE", "SOURCE", "ASKED", "RESTART"], &rows);
}
