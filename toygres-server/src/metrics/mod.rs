//! `/metrics`, in the Prometheus text format.
//!
//! duroxide records its series through the `metrics` facade; so do Toygres's activities
//! (through the handles in `Measures`), its reconciliation and its API. One recorder per
//! process collects them all (`install`); series that describe the fleet's state rather
//! than events (instances by state and health, operations by kind and status) are read
//! from the database when Prometheus scrapes (`fleet`), so every server answers the same
//! and nothing drifts; replication lag per member is asked of the platform then too
//! (`replication`). Names follow Prometheus's rules: a counter ends in `_total`
//! (`naming` adds it where duroxide does not).

pub mod fleet;
pub mod http;
mod naming;
pub mod replication;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use toygres_orchestrations::measures;

/// Bucket bounds, in seconds, for every `_seconds` histogram: from a fast probe to a long
/// restore.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0,
];

/// Renders what the process's recorder holds.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
}

impl Exporter {
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Installs the process's recorder (once; later calls return the same exporter).
pub fn install() -> anyhow::Result<Exporter> {
    static INSTALLED: OnceLock<Exporter> = OnceLock::new();
    if let Some(exporter) = INSTALLED.get() {
        return Ok(exporter.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(naming::Normalised::new(recorder))
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
    describe();
    Ok(INSTALLED.get_or_init(|| Exporter { handle }).clone())
}

/// HELP lines for Toygres's series and duroxide's.
fn describe() {
    for (name, help) in measures::names::ALL {
        metrics::describe_histogram!(*name, metrics::Unit::Seconds, *help);
    }
    fleet::describe();
    http::describe();
    crate::api::refusals::describe();
    crate::reconcile::describe_metrics();
    naming::describe_duroxide();
}
