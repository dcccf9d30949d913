//! `GET /healthz` (no auth): is the server up and can it reach its database?

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_domain::api::HealthzView;

use super::AppState;

pub async fn handle(State(state): State<AppState>) -> (StatusCode, Json<HealthzView>) {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.cms);
    let reachable = matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Ok(1))
    );
    let (status, health, database) = if reachable {
        (StatusCode::OK, "ok", "reachable")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded", "unreachable")
    };
    let view = HealthzView {
        status: health.into(),
        database: database.into(),
    };
    (status, Json(view))
}
