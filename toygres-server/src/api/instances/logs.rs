//! `GET /api/v1/instances/{name}/logs[?tail=N][&since_secs=S][&follow=true]`: the
//! instance's own PostgreSQL server log, as text, as `kubectl logs` gives a pod's.
//!
//! The last `tail` lines (default 100; with `since_secs`, those of the last S seconds
//! within what a tail may read); with `follow`, the response streams on, every half
//! second what the server wrote since, until the client goes away or the instance does.
//! Reads are bounded by the platform (never a whole large file), and only this instance's
//! log is read: never another's, never the control plane's.

use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use toygres_domain::{ErrorCode, InstanceName};
use toygres_platform::{LogCursor, LogStart, Platform, PlatformError};

use super::{NamePath, power};
use crate::api::{ApiError, AppState};

/// Lines of a tail when none are asked for.
const DEFAULT_TAIL: usize = 100;
/// The most lines a tail hands out.
const MAX_TAIL: usize = 100_000;
/// How often a follow looks for more.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    #[serde(default)]
    tail: Option<usize>,
    #[serde(default)]
    since_secs: Option<u64>,
    #[serde(default)]
    follow: bool,
}

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    params: Result<Query<LogParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let lines = match (params.tail, params.since_secs) {
        (Some(0), _) | (Some(MAX_TAIL..), _) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("tail must be 1 to {}", MAX_TAIL - 1),
            ));
        }
        (Some(lines), _) => lines,
        (None, Some(_)) => MAX_TAIL,
        (None, None) => DEFAULT_TAIL,
    };
    power::live(&app, &name).await?;
    let first = app
        .platform
        .read_log(&name, LogStart::Tail { lines })
        .await
        .map_err(|error| match error {
            PlatformError::Unsupported(reason) => {
                ApiError::new(ErrorCode::UnsupportedOnPlatform, reason)
            }
            PlatformError::NotFound(_) => ApiError::not_found(format!(
                "no server log of \"{name}\" to read: no server of it runs (a stopped \
                 instance on Kubernetes has no pod)"
            )),
            other => ApiError::internal(other),
        })?;
    let since = params
        .since_secs
        .map(|secs| Utc::now() - chrono::Duration::seconds(secs.min(i64::MAX as u64) as i64));
    let text = match since {
        Some(since) => lines_since(&first.text, since),
        None => first.text,
    };
    let body = match params.follow {
        false => Body::from(text),
        true => Body::from_stream(follow(app.platform.clone(), name, text, first.next)),
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .map_err(ApiError::internal)
}

/// `first`, then what the log gains, until the instance's log cannot be read any more.
fn follow(
    platform: std::sync::Arc<dyn Platform>,
    name: InstanceName,
    first: String,
    cursor: LogCursor,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    let state = (Some(first), cursor);
    futures_util::stream::unfold(state, move |(pending, cursor)| {
        let (platform, name) = (platform.clone(), name.clone());
        async move {
            if let Some(text) = pending {
                return Some((Ok(text), (None, cursor)));
            }
            loop {
                tokio::time::sleep(FOLLOW_EVERY).await;
                let read = platform
                    .read_log(&name, LogStart::After(cursor))
                    .await
                    .ok()?;
                if !read.text.is_empty() {
                    return Some((Ok(read.text), (None, read.next)));
                }
            }
        }
    })
}

/// The lines of `text` written at or after `since`: a line that starts with PostgreSQL's
/// time (`2026-12-07 22:00:00.123 UTC ...`, `log_line_prefix`'s `%m`) decides for itself
/// and for the lines that continue it.
fn lines_since(text: &str, since: DateTime<Utc>) -> String {
    let mut keep = false;
    text.split_inclusive('\n')
        .filter(|line| {
            if let Some(at) = written_at(line) {
                keep = at >= since;
            }
            keep
        })
        .collect()
}

fn written_at(line: &str) -> Option<DateTime<Utc>> {
    let mut words = line.split(' ');
    let (date, time, zone) = (words.next()?, words.next()?, words.next()?);
    if !matches!(zone, "UTC" | "GMT") {
        return None;
    }
    NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_keeps_the_lines_written_after_and_what_continues_them() {
        let text = "2026-12-07 10:00:00.000 UTC [1] LOG:  early\n\
                    \tcontinued early\n\
                    2026-12-07 10:05:00.500 UTC [1] LOG:  late\n\
                    \tDETAIL: continued late\n";
        let since = "2026-12-07T10:01:00Z".parse().unwrap();
        assert_eq!(
            lines_since(text, since),
            "2026-12-07 10:05:00.500 UTC [1] LOG:  late\n\tDETAIL: continued late\n"
        );
    }
}
