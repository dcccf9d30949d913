//! The one place that installs the tracing subscriber, before duroxide starts (it would
//! install its own otherwise). `RUST_LOG` filters; the format is text or JSON lines.
//!
//! Text is for a person watching the log: one short line per event ([`line`]), with the
//! instance and operation of the span it was written in (`labels`). JSON is for
//! machines and keeps every field. Both leave out pruning passes that removed nothing
//! unless debug lines are on (`quiet_passes`).

mod labels;
mod line;
mod quiet_passes;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn,duroxide::runtime=warn,duroxide_pg=warn";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let quiet = quiet_passes::QuietPasses::unless_debug(filter.max_level_hint());
    let registry = tracing_subscriber::registry().with(filter).with(quiet);
    let installed = match format {
        LogFormat::Text => registry
            .with(labels::SpanLabels)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(line::Line)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .try_init(),
    };
    if let Err(error) = installed {
        eprintln!("toygres-server: could not install logging: {error}");
    }
}
