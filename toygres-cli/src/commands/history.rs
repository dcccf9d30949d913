//! `events NAME` (state transitions and changes of health) and `health NAME` (latest
//! checks with latency).

use toygres_domain::InstanceName;

use crate::args::Format;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::{self, print_table};

pub async fn events(
    client: &ApiClient,
    format: Format,
    name: &InstanceName,
) -> Result<(), CliError> {
    let events = client.events(name.as_str()).await?;
    match format {
        Format::Json => output::json(&events),
        Format::Table => {
            let transitions = events.events.iter().map(|e| {
                let from = e.from.map_or_else(|| "-".to_string(), |s| s.to_string());
                (
                    e.at,
                    [
                        format!("{from} -> {}", e.to),
                        e.operation.clone().unwrap_or_else(|| "-".into()),
                        e.message.clone().unwrap_or_default(),
                    ],
                )
            });
            let health = events.health.iter().map(|e| {
                (
                    e.at,
                    [
                        format!("health {} -> {}", e.from, e.to),
                        "-".into(),
                        e.reason.clone().unwrap_or_default(),
                    ],
                )
            });
            let mut merged: Vec<_> = transitions.chain(health).collect();
            merged.sort_by_key(|(at, _)| *at);
            let rows: Vec<[String; 4]> = merged
                .into_iter()
                .map(|(at, [transition, operation, message])| {
                    [
                        at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                        transition,
                        operation,
                        message,
                    ]
                })
                .collect();
            print_table(["AT", "TRANSITION", "OPERATION", "MESSAGE"], &rows);
        }
    }
    Ok(())
}

pub async fn health(
    client: &ApiClient,
    format: Format,
    name: &InstanceName,
    limit: u32,
) -> Result<(), CliError> {
    let history = client.health(name.as_str(), limit).await?;
    match format {
        Format::Json => output::json(&history),
        Format::Table => {
            crate::output::say!("{} is {}", history.instance, history.status);
            let rows: Vec<[String; 4]> = history
                .checks
                .iter()
                .map(|c| {
                    [
                        c.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        match (c.ok, &c.error) {
                            (false, _) => "failed",
                            (true, Some(_)) => "degraded",
                            (true, None) => "ok",
                        }
                        .to_string(),
                        c.latency_ms
                            .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
                        c.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(["AT", "RESULT", "LATENCY", "ERROR"], &rows);
        }
    }
    Ok(())
}
