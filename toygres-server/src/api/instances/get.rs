//! `GET /api/v1/instances/{name}`: the live instance of that name, else the last deleted
//! one (so a client waiting for a delete sees `deleted`), with orchestration statuses.
//!
//! The response carries an `ETag`. A client that sends it back in `If-None-Match` with
//! `?wait_secs=N` gets a long-poll: the server answers as soon as the instance looks
//! different (state, step, health, ...), or `304 Not Modified` after N seconds. It looks
//! again whenever the store is written to (here or on another server), so a waiting CLI
//! learns of a change within milliseconds without polling.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::time::Instant;
use toygres_cms as cms;
use toygres_domain::api::{InstanceView, MemberView};
use toygres_domain::{InstanceName, InstanceState};

use super::{NamePath, view};
use crate::api::deadline::MAX_WAIT;
use crate::api::{ApiError, AppState};

/// Looks coalesce a burst of writes: at most one every this long per request (the first
/// change after a quiet spell is looked at at once).
const MIN_LOOK_GAP: Duration = Duration::from_millis(25);
/// A look even without a wake-up, in case one was lost.
const FALLBACK_LOOK: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
pub struct GetParams {
    wait_secs: Option<u64>,
}

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    params: Result<Query<GetParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let seen = headers
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let wait = Duration::from_secs(params.wait_secs.unwrap_or(0)).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let mut changes = app.changes.clone();
    loop {
        changes.mark_unchanged();
        let looked = Instant::now();
        let view = read(&app, &name, wait.is_zero()).await?;
        let tag = etag(&view);
        if seen.as_deref() != Some(tag.as_str()) {
            return Ok(with_etag(Json(view).into_response(), &tag));
        }
        if Instant::now() >= deadline {
            return Ok(with_etag(StatusCode::NOT_MODIFIED.into_response(), &tag));
        }
        let look_again = deadline.min(Instant::now() + FALLBACK_LOOK);
        tokio::select! {
            _ = changes.changed() => tokio::time::sleep_until(looked + MIN_LOOK_GAP).await,
            _ = tokio::time::sleep_until(look_again) => {}
        }
    }
}

/// The instance's view; `with_members` adds its members as they answer now (not for a
/// long poll, whose looks would otherwise ask every member at every write, and find the
/// lag changed each time).
async fn read(
    app: &AppState,
    name: &InstanceName,
    with_members: bool,
) -> Result<InstanceView, ApiError> {
    let record = cms::instances::find_latest(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))?;
    let mut view = view::with_orchestration_statuses(
        view::instance(&record, app.health_interval()),
        &app.client,
    )
    .await;
    if with_members && view.standbys > 0 && record.state != InstanceState::Deleted {
        view.members = members(app, name).await;
    }
    Ok(view)
}

/// The instance's members as the platform sees them; none when it cannot tell (logged).
async fn members(app: &AppState, name: &InstanceName) -> Vec<MemberView> {
    match app.platform.members(name).await {
        Ok(members) => members.into_iter().map(view::member).collect(),
        Err(error) => {
            tracing::warn!(instance = %name, %error, "could not read the instance's members");
            Vec::new()
        }
    }
}

/// A strong validator of everything the view shows.
fn etag(view: &InstanceView) -> String {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(view)
        .expect("a view encodes")
        .hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

fn with_etag(mut response: Response, tag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}
