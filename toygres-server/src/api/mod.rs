//! The HTTP API: JSON under `/api/v1`, bearer-token auth, `/healthz`, `/metrics`, and the
//! web console's files under `/console/`.
//!
//! Handlers validate input into domain values before anything changes, start or look up
//! orchestrations through the duroxide client, and read instances from the CMS. Every
//! error is `{ "error": code, "message": ... }` with a 4xx/5xx status (see `error.rs`).

mod auth;
mod backups;
mod batches;
mod ca_certificate;
mod deadline;
mod error;
mod healthz;
mod instances;
mod json;
pub mod metrics;
mod operations;
pub mod refusals;
mod request_log;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{get, post};
use duroxide::Client;
use sqlx::PgPool;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;
use toygres_domain::api::PREFIX;
use toygres_platform::Platform;

pub use error::ApiError;

use crate::api_token::ApiToken;

/// The address a request came from, over plain TCP or TLS.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddress(pub std::net::SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for PeerAddress
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for PeerAddress
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub cms: PgPool,
    pub client: Client,
    /// Moves whenever the store is written to: long-polls look again when it does.
    pub changes: watch::Receiver<u64>,
    pub platform: Arc<dyn Platform>,
    pub token: ApiToken,
    pub health_check_interval_secs: u64,
    /// How many children of a batch may be under way at once.
    pub batch_parallelism: u32,
    /// The libraries tenants may preload.
    pub preload: toygres_domain::parameters::PreloadAllowList,
    pub exporter: crate::metrics::Exporter,
    /// Requests refused for want of a token, by source (for logging them sparingly).
    pub refusals: Arc<refusals::Refusals>,
}

/// `/metrics` alone, without the token (`--metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::handle))
        .with_state(state)
}

impl AppState {
    /// How often running instances are checked.
    pub fn health_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.health_check_interval_secs)
    }
}

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route(
            "/instances",
            get(instances::list::handle).post(instances::create::handle),
        )
        .route(
            "/instances/{name}",
            get(instances::get::handle).delete(instances::delete::handle),
        )
        .route(
            "/instances/{name}/connection",
            get(instances::connection::handle),
        )
        .route("/instances/{name}/stop", post(instances::power::stop))
        .route("/instances/{name}/start", post(instances::power::start))
        .route("/instances/{name}/restart", post(instances::power::restart))
        .route(
            "/instances/{name}/switchover",
            post(instances::switchover::handle),
        )
        .route("/instances/{name}/labels", post(instances::labels::handle))
        .route("/instances/{name}/logs", get(instances::logs::handle))
        .route(
            "/instances/{name}/config",
            get(instances::config::show).post(instances::config::change),
        )
        .route(
            "/instances/{name}/superuser-access",
            post(instances::superuser_access::handle),
        )
        .route("/ca-certificate", get(ca_certificate::handle))
        .route("/batches/create", post(batches::create))
        .route("/batches/delete", post(batches::delete))
        .route("/instances/{name}/backups", post(backups::create::handle))
        .route(
            "/instances/{name}/backup-schedule",
            get(backups::schedule::get)
                .put(backups::schedule::put)
                .delete(backups::schedule::delete),
        )
        .route("/instances/{name}/events", get(instances::history::events))
        .route("/instances/{name}/health", get(instances::history::health))
        .route("/operations", get(operations::list::handle))
        .route("/operations/{id}", get(operations::show::handle))
        .route("/operations/{id}/cancel", post(operations::act::cancel))
        .route("/operations/{id}/retry", post(operations::act::retry))
        .route("/backups", get(backups::list::handle))
        .route(
            "/backups/{id}",
            get(backups::get::handle).delete(backups::delete::handle),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route_layer(axum::middleware::from_fn(deadline::enforce))
        .route_layer(axum::middleware::from_fn(crate::metrics::http::count));
    let metrics = Router::new()
        .route("/metrics", get(metrics::handle))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(healthz::handle))
        .merge(metrics)
        .merge(crate::console::router())
        .nest(PREFIX, v1)
        // Unknown routes and methods need the token too: without it, 401, not 404/405.
        .fallback(
            error::no_such_route.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            )),
        )
        .method_not_allowed_fallback(error::method_not_allowed.layer(
            axum::middleware::from_fn_with_state(state.clone(), auth::require_token),
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_log::RequestSpan)
                .on_response(request_log::ResponseLine),
        )
        .with_state(state)
}
