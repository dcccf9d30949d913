//! Waiting for something to become true, in one place: every wait in the tests has a name
//! (said when it fails), a budget (so a test fails instead of hanging), and a probe.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a probe runs, unless a caller needs finer timing.
const EVERY: Duration = Duration::from_millis(20);

/// Runs `probe` until it returns `Some`, and returns that; panics naming `what` when
/// `within` passes first.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_every(what, within, EVERY, probe).await
}

/// [`eventually`], probing every `every` (to catch a short-lived moment).
pub async fn eventually_every<T, F, Fut>(
    what: &str,
    within: Duration,
    every: Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}, in vain"
        );
        tokio::time::sleep(every).await;
    }
}
