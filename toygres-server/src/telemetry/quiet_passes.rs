//! A pass of the history pruner that removed nothing is a debug-level detail, but
//! duroxide's client logs every bulk prune and delete at info, with the query as a
//! `Debug` struct: one pair of lines per pass, all day. Such an event (every
//! `*_deleted` count zero) is left out unless the filter lets debug lines through.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// Turns quiet duroxide client events off (see the module doc).
pub struct QuietPasses;

impl QuietPasses {
    /// The layer, unless a filter as verbose as `max_level` shows debug lines anyway.
    pub fn unless_debug(max_level: Option<LevelFilter>) -> Option<Self> {
        (max_level.unwrap_or(LevelFilter::TRACE) < LevelFilter::DEBUG).then_some(Self)
    }
}

impl<S: Subscriber> Layer<S> for QuietPasses {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        !(event.metadata().target().starts_with("duroxide::client") && removed_nothing(event))
    }
}

/// Whether an event counts what it deleted, and every count is zero.
fn removed_nothing(event: &Event<'_>) -> bool {
    let mut counts = Counts::default();
    event.record(&mut counts);
    counts.seen && !counts.any_removed
}

#[derive(Default)]
struct Counts {
    seen: bool,
    any_removed: bool,
}

impl Visit for Counts {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name().ends_with("_deleted") {
            self.seen = true;
            self.any_removed |= format!("{value:?}") != "0";
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing::subscriber::with_default;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Counts the events that reach it.
    #[derive(Clone, Default)]
    struct Seen(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, _event: &Event<'_>, _ctx: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn seen(max_level: LevelFilter, emit: impl FnOnce()) -> usize {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(QuietPasses::unless_debug(Some(max_level)))
            .with(seen.clone());
        with_default(subscriber, emit);
        seen.0.load(Ordering::SeqCst)
    }

    fn a_pass(deleted: u64) {
        tracing::info!(target: "duroxide::client", executions_deleted = deleted, events_deleted = deleted, "Bulk pruned executions");
    }

    #[test]
    fn a_pass_that_removed_nothing_is_left_out_at_info() {
        assert_eq!(seen(LevelFilter::INFO, || a_pass(0)), 0);
        assert_eq!(seen(LevelFilter::INFO, || a_pass(1)), 1);
    }

    #[test]
    fn a_pass_that_removed_nothing_shows_with_debug_lines() {
        assert_eq!(seen(LevelFilter::DEBUG, || a_pass(0)), 1);
    }
}
