//! Every API request answers within a few seconds: a request that cannot get its data in
//! time (the control database is down or hanging) answers 503 `unavailable` instead of
//! waiting for the pool's own timeouts. A long-poll (`?wait_secs=N`) gets its wait on top.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// How long a request may take besides any wait it asked for.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(4);
/// The longest wait a long-poll may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

pub async fn enforce(request: Request, next: Next) -> Response {
    let deadline = REQUEST_DEADLINE + requested_wait(request.uri().query());
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(format!("no answer within {deadline:?}")).into_response(),
    }
}

/// `wait_secs` from a query string, capped at [`MAX_WAIT`]; zero when absent or malformed
/// (the handler rejects a malformed one).
pub fn requested_wait(query: Option<&str>) -> Duration {
    query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("wait_secs="))
        .and_then(|value| value.parse::<u64>().ok())
        .map_or(Duration::ZERO, |secs| {
            Duration::from_secs(secs).min(MAX_WAIT)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_poll_gets_its_wait_and_no_more_than_the_cap() {
        assert_eq!(requested_wait(None), Duration::ZERO);
        assert_eq!(requested_wait(Some("wait_secs=5")), Duration::from_secs(5));
        assert_eq!(
            requested_wait(Some("a=1&wait_secs=7")),
            Duration::from_secs(7)
        );
        assert_eq!(requested_wait(Some("wait_secs=9999")), MAX_WAIT);
        assert_eq!(requested_wait(Some("wait_secs=x")), Duration::ZERO);
    }
}
