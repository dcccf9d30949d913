//! Requests refused for want of a valid API token: every one counted
//! (`toygres_api_unauthorized_total`), logged at most once a minute per source address,
//! with how many were refused since the last line. A client guessing tokens in a loop
//! cannot fill the log, and the operator still sees who is knocking and how often.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const REFUSED: &str = "toygres_api_unauthorized_total";
/// At most one log line per source per interval.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Sources remembered at most; older ones are forgotten first.
const MAX_SOURCES: usize = 4096;

pub fn describe() {
    metrics::describe_counter!(
        REFUSED,
        "API requests refused for a missing or wrong token, by reason"
    );
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Missing,
    Wrong,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Wrong => "wrong",
        }
    }
}

/// Per source: when it was last logged, and how many refusals went unlogged since.
#[derive(Debug, Default)]
pub struct Refusals {
    sources: Mutex<HashMap<Option<IpAddr>, Source>>,
}

#[derive(Debug)]
struct Source {
    logged_at: Instant,
    unlogged: u64,
}

impl Refusals {
    /// Counts a refusal from `from`; `Some(n)` when it should be logged now, with the
    /// refusals of that source since its last line (this one included).
    pub fn record(&self, from: Option<IpAddr>, reason: Reason, now: Instant) -> Option<u64> {
        metrics::counter!(REFUSED, "reason" => reason.as_str()).increment(1);
        let mut sources = self.sources.lock().expect("not poisoned");
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&from) {
            sources.retain(|_, source| now.duration_since(source.logged_at) < LOG_INTERVAL);
            if sources.len() >= MAX_SOURCES {
                sources.clear();
            }
        }
        match sources.get_mut(&from) {
            Some(source) if now.duration_since(source.logged_at) < LOG_INTERVAL => {
                source.unlogged += 1;
                None
            }
            Some(source) => {
                let refused = source.unlogged + 1;
                *source = Source {
                    logged_at: now,
                    unlogged: 0,
                };
                Some(refused)
            }
            None => {
                sources.insert(
                    from,
                    Source {
                        logged_at: now,
                        unlogged: 0,
                    },
                );
                Some(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_logged_once_per_interval_with_what_it_did_meanwhile() {
        let refusals = Refusals::default();
        let start = Instant::now();
        let knocker = Some("203.0.113.9".parse().unwrap());
        assert_eq!(refusals.record(knocker, Reason::Wrong, start), Some(1));
        for second in 1..=10 {
            let at = start + Duration::from_secs(second);
            assert_eq!(refusals.record(knocker, Reason::Wrong, at), None);
        }
        let other = Some("203.0.113.10".parse().unwrap());
        assert_eq!(
            refusals.record(other, Reason::Missing, start + Duration::from_secs(5)),
            Some(1),
            "another source has a line of its own"
        );
        let later = start + LOG_INTERVAL + Duration::from_secs(1);
        assert_eq!(refusals.record(knocker, Reason::Wrong, later), Some(11));
    }
}
