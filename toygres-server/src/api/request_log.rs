//! How requests are logged: a request that changes something (`POST`, `PUT`, `DELETE`) at
//! info, a read at debug. The CLI's `--wait` and the console poll `GET`s every second or
//! two, and at info those lines would bury the ones an operator looks for.

use std::time::Duration;

use axum::http::{Method, Request, Response};
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::{Level, Span};

/// The span every request runs in: `request{method, uri}`.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let (method, uri) = (request.method(), request.uri());
        if is_read(method) {
            tracing::debug_span!("request", %method, %uri)
        } else {
            tracing::info_span!("request", %method, %uri)
        }
    }
}

/// One line when the answer is sent, at the level of the request's span.
#[derive(Debug, Clone, Copy)]
pub struct ResponseLine;

impl<B> OnResponse<B> for ResponseLine {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = latency.as_millis() as u64;
        let at_info = span
            .metadata()
            .is_some_and(|meta| *meta.level() == Level::INFO);
        if at_info {
            tracing::info!(status, latency_ms, "answered");
        } else {
            tracing::debug!(status, latency_ms, "answered");
        }
    }
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_debug_and_changes_are_info() {
        assert!(is_read(&Method::GET));
        assert!(is_read(&Method::HEAD));
        for change in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(!is_read(&change), "{change}");
        }
    }
}
