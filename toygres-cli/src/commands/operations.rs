//! `operations list|show|cancel|retry`.

use chrono::Utc;
use toygres_domain::api::{OperationDetail, OperationSummary, TimelineEntry};

use crate::args::{Format, OperationsCommand};
use crate::client::{ApiClient, OperationQuery};
use crate::error::CliError;
use crate::output::{self, age, print_table};

pub async fn run(
    client: &ApiClient,
    format: Format,
    command: OperationsCommand,
) -> Result<(), CliError> {
    match command {
        OperationsCommand::List {
            instance,
            status,
            kind,
            limit,
            cursor,
        } => {
            let query = OperationQuery {
                instance,
                status,
                kind,
                limit,
                cursor,
            };
            let list = client.operations(&query).await?;
            match format {
                Format::Json => output::json(&list),
                Format::Table => {
                    table(&list.operations);
                    if let Some(next) = &list.next_cursor {
                        crate::output::say!("next: --cursor {next}");
                    }
                }
            }
        }
        OperationsCommand::Show { id } => {
            let detail = client.operation(&id).await?;
            match format {
                Format::Json => output::json(&detail),
                Format::Table => show(&detail),
            }
        }
        OperationsCommand::Cancel { id } => act(client, format, &id, "cancel").await?,
        OperationsCommand::Retry { id } => act(client, format, &id, "retry").await?,
    }
    Ok(())
}

async fn act(client: &ApiClient, format: Format, id: &str, act: &str) -> Result<(), CliError> {
    let done = client.operation_act(id, act).await?;
    match format {
        Format::Json => output::json(&done),
        Format::Table => crate::output::say!("{id}: {}", done.message),
    }
    Ok(())
}

fn table(operations: &[OperationSummary]) {
    let rows: Vec<[String; 7]> = operations
        .iter()
        .map(|op| {
            [
                op.id.clone(),
                op.kind.to_string(),
                op.instance.clone().unwrap_or_else(|| "-".into()),
                op.status.to_string(),
                op.step.clone().unwrap_or_else(|| "-".into()),
                format!("{} ago", age(op.started_at, Utc::now())),
                duration(op.duration_secs),
            ]
        })
        .collect();
    print_table(
        [
            "ID", "KIND", "INSTANCE", "STATUS", "STEP", "STARTED", "DURATION",
        ],
        &rows,
    );
}

fn show(detail: &OperationDetail) {
    let op = &detail.summary;
    let mut fields = vec![
        ("id", op.id.clone()),
        ("kind", op.kind.to_string()),
        (
            "instance",
            op.instance.clone().unwrap_or_else(|| "-".into()),
        ),
        ("status", op.status.to_string()),
        ("step", op.step.clone().unwrap_or_else(|| "-".into())),
        (
            "orchestration",
            format!(
                "{} {}",
                op.orchestration,
                op.version.as_deref().unwrap_or("")
            ),
        ),
        ("started", op.started_at.to_rfc3339()),
        ("duration", duration(op.duration_secs)),
    ];
    if let Some(parent) = &op.parent {
        fields.push(("parent", parent.clone()));
    }
    if let Some(error) = &detail.error {
        fields.push(("error", error.clone()));
    }
    for (label, value) in fields {
        crate::output::say!("{:<14} {value}", format!("{label}:"));
    }
    if let Some(input) = &detail.input {
        crate::output::say!("input:         {input}");
    }
    if let Some(output) = &detail.output {
        crate::output::say!("output:        {output}");
    }
    for execution in &detail.executions {
        crate::output::say!(
            "\nexecution {} ({}):",
            execution.execution_id,
            execution.status
        );
        let start = execution.timeline.first().map(|e| e.at);
        for entry in &execution.timeline {
            crate::output::say!("  {}", timeline_line(entry, start));
        }
    }
    if !detail.children.is_empty() {
        crate::output::say!("\nstarted:");
        table(&detail.children);
    }
}

/// `+1.234s  activity_completed  provision-instance  {"outcome":"ready",...}`
fn timeline_line(entry: &TimelineEntry, start: Option<chrono::DateTime<Utc>>) -> String {
    let offset = start
        .map(|start| (entry.at - start).num_milliseconds() as f64 / 1000.0)
        .unwrap_or_default();
    let mut line = format!("+{offset:>8.3}s  {:<28}", entry.kind);
    if let Some(name) = &entry.name {
        line.push_str(&format!("  {name}"));
    }
    if let Some(detail) = &entry.detail {
        let text = detail.to_string();
        let shown: String = text.chars().take(160).collect();
        line.push_str(&format!("  {shown}"));
        if shown.len() < text.len() {
            line.push('…');
        }
    }
    line
}

/// `850ms`, `12.3s`, `4m05s`, `2h10m`.
fn duration(secs: f64) -> String {
    match secs {
        s if s < 1.0 => format!("{}ms", (s * 1000.0).round() as u64),
        s if s < 60.0 => format!("{s:.1}s"),
        s if s < 3600.0 => format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64),
        s => format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(0.25), "250ms");
        assert_eq!(duration(12.34), "12.3s");
        assert_eq!(duration(245.0), "4m05s");
        assert_eq!(duration(7800.0), "2h10m");
    }
}
