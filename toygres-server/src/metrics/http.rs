//! API requests by route, method and status, and their latency by route: a middleware on
//! the API's routes (the route is the pattern, `/api/v1/instances/{name}`, never the name).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

const REQUESTS: &str = "toygres_api_requests_total";
const DURATION: &str = "toygres_api_request_duration_seconds";

pub fn describe() {
    metrics::describe_counter!(REQUESTS, "API requests by route, method and status");
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "API request time by route (a long-poll counts its wait)"
    );
}

pub async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(DURATION, "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}
