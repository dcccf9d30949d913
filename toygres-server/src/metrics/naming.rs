//! Prometheus's naming rules at the recorder: a counter's name ends in `_total`. duroxide
//! names two of its counters without it (`..._dispatcher_items_fetched`); the wrapper adds
//! it, and describes duroxide's series, which it does not describe itself.

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// A recorder that renames counters missing `_total`, and passes everything else on.
pub struct Normalised<R> {
    inner: R,
}

impl<R> Normalised<R> {
    pub fn new(inner: R) -> Self {
        Self { inner }
    }
}

fn counter_name(name: &str) -> String {
    match name.ends_with("_total") {
        true => name.to_string(),
        false => format!("{name}_total"),
    }
}

impl<R: Recorder> Recorder for Normalised<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let key = KeyName::from(counter_name(key.as_str()));
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if key.name().ends_with("_total") {
            return self.inner.register_counter(key, metadata);
        }
        let renamed = Key::from_parts(
            counter_name(key.name()),
            key.labels().cloned().collect::<Vec<_>>(),
        );
        self.inner.register_counter(&renamed, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.inner.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(key, metadata)
    }
}

/// duroxide 0.1.32's series, described (its own code does not).
pub fn describe_duroxide() {
    const COUNTERS: &[(&str, &str)] = &[
        (
            "duroxide_orchestration_starts_total",
            "Orchestrations started",
        ),
        (
            "duroxide_orchestration_completions_total",
            "Orchestrations completed",
        ),
        (
            "duroxide_orchestration_failures_total",
            "Orchestrations failed",
        ),
        (
            "duroxide_orchestration_continue_as_new_total",
            "Orchestrations continued as new",
        ),
        (
            "duroxide_orchestration_infrastructure_errors_total",
            "Orchestration turns failed by the store",
        ),
        (
            "duroxide_orchestration_configuration_errors_total",
            "Orchestrations failed by configuration (unregistered names, nondeterminism)",
        ),
        (
            "duroxide_orchestration_poison_total",
            "Orchestration messages given up after too many attempts",
        ),
        (
            "duroxide_orchestration_dispatcher_items_fetched",
            "Orchestration work items fetched",
        ),
        (
            "duroxide_activity_executions_total",
            "Activity executions, by outcome",
        ),
        (
            "duroxide_activity_infrastructure_errors_total",
            "Activity executions failed by the store",
        ),
        (
            "duroxide_activity_configuration_errors_total",
            "Activities failed by configuration",
        ),
        (
            "duroxide_activity_poison_total",
            "Activity messages given up after too many attempts",
        ),
        (
            "duroxide_worker_dispatcher_items_fetched",
            "Activity work items fetched",
        ),
        (
            "duroxide_provider_errors_total",
            "Store operations that failed",
        ),
        (
            "duroxide_suborchestration_calls_total",
            "Sub-orchestrations called",
        ),
    ];
    const GAUGES: &[(&str, &str)] = &[
        (
            "duroxide_active_orchestrations",
            "Orchestrations running in this process",
        ),
        (
            "duroxide_orchestrator_queue_depth",
            "Orchestration work items waiting",
        ),
        ("duroxide_worker_queue_depth", "Activity work items waiting"),
    ];
    const HISTOGRAMS: &[(&str, &str)] = &[
        (
            "duroxide_orchestration_duration_seconds",
            "Orchestration run time",
        ),
        ("duroxide_activity_duration_seconds", "Activity run time"),
        (
            "duroxide_provider_operation_duration_seconds",
            "Store operation time",
        ),
        (
            "duroxide_suborchestration_duration_seconds",
            "Sub-orchestration run time",
        ),
        (
            "duroxide_orchestration_history_size",
            "History events per orchestration turn",
        ),
        ("duroxide_orchestration_turns", "Turns per orchestration"),
        (
            "duroxide_orchestration_dispatcher_processing_duration_ms",
            "Orchestration turn processing time, in milliseconds",
        ),
        (
            "duroxide_worker_dispatcher_execution_duration_ms",
            "Activity execution time in the worker, in milliseconds",
        ),
    ];
    for (name, help) in COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    for (name, help) in GAUGES {
        metrics::describe_gauge!(*name, *help);
    }
    for (name, help) in HISTOGRAMS {
        metrics::describe_histogram!(*name, *help);
    }
}
