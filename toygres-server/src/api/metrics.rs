//! `GET /metrics`: the Prometheus text format (see `crate::metrics`). The fleet's gauges
//! are read from the database first, and the members' replication lag from the platform,
//! so a scrape sees the state of that moment.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::api::{ApiError, AppState};
use crate::metrics::{fleet, replication};

pub async fn handle(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    fleet::refresh(&app.cms, app.health_interval())
        .await
        .map_err(ApiError::internal)?;
    let lag = replication::render(&app.cms, app.platform.as_ref())
        .await
        .map_err(ApiError::internal)?;
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        format!("{}{lag}", app.exporter.render()),
    ))
}
