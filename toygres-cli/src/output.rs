//! Rendering for people (aligned tables) and programs (JSON).

use chrono::{DateTime, Utc};
use serde::Serialize;
use toygres_domain::api::InstanceView;

/// `println!` for the CLI's results: a reader that has gone (`| head`) ends the CLI
/// quietly with exit 0, as a closed pipe is the reader's choice, not a failure; any other
/// write error is one line on stderr and exit 1.
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}
pub(crate) use say;

pub fn line(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(text).and_then(|()| out.write_all(b"\n")) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("toygres-cli: writing the output: {error}");
        std::process::exit(
            crate::error::CliError::Failed(String::new())
                .exit_code()
                .into(),
        );
    }
}

pub fn json<T: Serialize>(value: &T) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).expect("API types serialise")
    );
}

/// `NAME STATE HEALTH ENDPOINT AGE`, one row per instance.
pub fn instance_table(instances: &[InstanceView]) {
    let rows: Vec<[String; 5]> = instances
        .iter()
        .map(|i| {
            [
                i.name.clone(),
                i.state.to_string(),
                i.health.status.to_string(),
                endpoint(i),
                age(i.created_at, Utc::now()),
            ]
        })
        .collect();
    print_table(["NAME", "STATE", "HEALTH", "ENDPOINT", "AGE"], &rows);
}

/// One instance, one field per line.
pub fn instance_details(i: &InstanceView) {
    let mut fields = vec![
        ("name", i.name.clone()),
        ("state", i.state.to_string()),
        ("health", health(i)),
        ("endpoint", endpoint(i)),
        ("owner", login(i)),
        ("superuser", superuser_access(i.superuser_access)),
        ("standbys", standbys(i)),
        ("labels", labels(&i.labels)),
        ("postgres", i.postgres_version.clone()),
        ("storage", format!("{} GiB", i.storage_gb)),
        ("platform", i.platform.clone()),
        ("age", age(i.created_at, Utc::now())),
        ("id", i.id.to_string()),
        ("create", orchestration(&i.create_orchestration)),
    ];
    if let Some(operation) = &i.operation {
        fields.push(("operation", orchestration(operation)));
    }
    if let Some(delete) = &i.delete_orchestration {
        fields.push(("delete", orchestration(delete)));
    }
    if let Some(checked) = i.health.last_checked_at {
        fields.push(("last check", format!("{} ago", age(checked, Utc::now()))));
    }
    if let Some(error) = &i.last_error {
        fields.push(("last error", error.clone()));
    }
    for (label, value) in fields {
        say!("{:<11} {value}", format!("{label}:"));
    }
    if !i.members.is_empty() {
        say!("");
        members(&i.members);
    }
}

/// `2, synchronous`.
fn standbys(i: &InstanceView) -> String {
    match (i.standbys, i.synchronous) {
        (0, _) => "none".into(),
        (count, true) => format!("{count}, synchronous (a commit waits for one)"),
        (count, false) => format!("{count}, asynchronous"),
    }
}

/// The members as a table.
fn members(members: &[toygres_domain::api::MemberView]) {
    let rows: Vec<[String; 6]> = members
        .iter()
        .map(|m| {
            [
                m.name.clone(),
                m.role.to_string(),
                format!("{}:{}", m.host, m.port),
                m.state.to_string(),
                m.lag_bytes.map_or("-".into(), |lag| format!("{lag} B")),
                m.timeline.map_or("-".into(), |t| t.to_string()),
            ]
        })
        .collect();
    print_table(
        ["MEMBER", "ROLE", "ADDRESS", "STATE", "LAG", "TIMELINE"],
        &rows,
    );
}

/// `degraded: the disk is 93% full (…)`.
fn health(i: &InstanceView) -> String {
    match &i.health.reason {
        Some(reason) => format!("{}: {reason}", i.health.status),
        None => i.health.status.to_string(),
    }
}

/// `app in database app`.
fn login(i: &InstanceView) -> String {
    match (&i.owner, &i.database) {
        (Some(owner), Some(database)) => format!("{owner} in database {database}"),
        _ => "-".into(),
    }
}

/// Whether the tenant also has the superuser's login, and what that gives away.
pub fn superuser_access(on: bool) -> String {
    match on {
        true => "on: whoever has the superuser login can read and change everything in this instance and run programs as its OS account (toygres-cli superuser-access NAME off)"
            .into(),
        false => "off: the owner cannot read the server's files or run programs".into(),
    }
}

fn orchestration(view: &toygres_domain::api::OrchestrationView) -> String {
    match (&view.status, &view.step) {
        (Some(status), Some(step)) => format!("{} ({status}: {step})", view.id),
        (Some(status), None) => format!("{} ({status})", view.id),
        _ => view.id.clone(),
    }
}

fn endpoint(i: &InstanceView) -> String {
    i.endpoint
        .as_ref()
        .map(|e| format!("{}:{}", e.host, e.port))
        .unwrap_or_else(|| "-".into())
}

/// `45s`, `12m`, `3h`, `5d`.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - since).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

pub fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths: [usize; N] = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        say!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `team=web, tier=gold`, or `-` for none.
pub fn labels(labels: &toygres_domain::Labels) -> String {
    if labels.is_empty() {
        return "-".into();
    }
    labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        let now = Utc::now();
        let ago = |secs| now - chrono::Duration::seconds(secs);
        assert_eq!(age(ago(5), now), "5s");
        assert_eq!(age(ago(125), now), "2m");
        assert_eq!(age(ago(7200), now), "2h");
        assert_eq!(age(ago(3 * 86400), now), "3d");
        assert_eq!(age(now + chrono::Duration::seconds(5), now), "0s");
    }
}
