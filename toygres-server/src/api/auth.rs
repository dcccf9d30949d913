//! Bearer-token authentication for every `/api/v1` route.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};

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
    match presented {
        Some(token) if state.token.matches(token.trim()) => Ok(next.run(request).await),
        _ => {
            tracing::warn!(
                method = %request.method(),
                path = %request.uri().path(),
                "rejected a request without a valid API token"
            );
            Err(ApiError::unauthorized())
        }
    }
}
