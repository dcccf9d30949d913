//! The retry policy the orchestrations share: exponential backoff capped at 30 s.

use std::time::Duration;

use duroxide::{BackoffStrategy, RetryPolicy};

pub fn with_backoff(attempts: u32, base: Duration) -> RetryPolicy {
    RetryPolicy::new(attempts).with_backoff(BackoffStrategy::Exponential {
        base,
        multiplier: 2.0,
        max: Duration::from_secs(30),
    })
}
