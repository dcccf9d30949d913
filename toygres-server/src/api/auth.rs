//! Bearer-token authentication for every `/api/v1` route (and `/metrics` on the API's
//! address). A refusal is a JSON 401; refusals are counted and logged sparingly (see
//! `refusals`).

use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::refusals::{LOG_INTERVAL, Reason};
use super::{ApiError, AppState, PeerAddress};

pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let reason = match presented {
        Some(token) if state.token.matches(token.trim()) => return Ok(next.run(request).await),
        Some(_) => Reason::Wrong,
        None => Reason::Missing,
    };
    let from = request
        .extensions()
        .get::<ConnectInfo<PeerAddress>>()
        .map(|ConnectInfo(PeerAddress(address))| address.ip());
    if let Some(refused) = state.refusals.record(from, reason, Instant::now()) {
        tracing::warn!(
            source = from.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
            refused,
            method = %request.method(),
            path = %request.uri().path(),
            "refused requests without a valid API token (logged at most once per {}s per source)",
            LOG_INTERVAL.as_secs()
        );
    }
    Err(ApiError::unauthorized())
}
