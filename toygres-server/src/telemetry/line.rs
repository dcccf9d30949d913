//! The text format: one line a person can read — time, level, the instance and the
//! operation (orchestration id) it is about, the message, and the fields nothing else
//! says. duroxide writes its own ids into every event (`instance_id`, `execution_id`,
//! `orchestration_name`, ...) and the orchestrations start their messages with
//! `instance=NAME:`; both repeat the span, so the text leaves them out and prints the
//! span's instance and operation once. `--log-format json` keeps every field.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::labels::{Labels, push_field};

/// Event fields that repeat the span an event is written in (duroxide's), or echo a
/// query (duroxide's client) rather than say what happened.
const REPEATED: &[&str] = &[
    "execution_id",
    "orchestration_name",
    "orchestration_version",
    "activity_name",
    "activity_id",
    "worker_id",
    "filter",
    "options",
];

/// Formats an event as one readable line.
pub struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut labels = span_labels(ctx);
        let mut fields = EventFields::from_target(event.metadata().target());
        event.record(&mut fields);
        fields.settle(&mut labels);
        let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        write!(writer, "{time} {:>5} ", event.metadata().level())?;
        write_labels(&mut writer, &labels)?;
        write!(writer, "{}", fields.message)?;
        if !fields.rest.is_empty() {
            write!(writer, " {}", fields.rest)?;
        }
        writeln!(writer)
    }
}

/// The labels of the spans an event is written in; an inner span's win.
fn span_labels<S, N>(ctx: &FmtContext<'_, S, N>) -> Labels
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let mut merged = Labels::default();
    for span in ctx
        .event_scope()
        .into_iter()
        .flat_map(|scope| scope.from_root())
    {
        if let Some(labels) = span.extensions().get::<Labels>() {
            merged.instance = labels.instance.clone().or(merged.instance);
            merged.operation = labels.operation.clone().or(merged.operation);
            join(&mut merged.rest, &labels.rest);
        }
    }
    merged
}

/// Appends `text` after a space (none on empty text).
fn join(line: &mut String, text: &str) {
    if !line.is_empty() && !text.is_empty() {
        line.push(' ');
    }
    line.push_str(text);
}

/// `instance=NAME op=ID span-fields: ` — whichever there are.
fn write_labels(writer: &mut Writer<'_>, labels: &Labels) -> fmt::Result {
    let mut prefix = String::new();
    if let Some(instance) = &labels.instance {
        push_field(&mut prefix, "instance", instance);
    }
    if let Some(operation) = &labels.operation {
        push_field(&mut prefix, "op", operation);
    }
    join(&mut prefix, &labels.rest);
    if prefix.is_empty() {
        return Ok(());
    }
    write!(writer, "{prefix}: ")
}

/// An event's message and fields, with the ones naming an instance or an operation
/// set apart so they can join (or be dropped as repeating) the span's.
#[derive(Default)]
struct EventFields {
    /// duroxide names an orchestration id `instance`; Toygres names an instance so.
    from_duroxide: bool,
    message: String,
    instance: Option<String>,
    operation: Option<String>,
    rest: String,
}

impl EventFields {
    fn from_target(target: &str) -> Self {
        Self {
            from_duroxide: target.starts_with("duroxide"),
            ..Self::default()
        }
    }

    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "orchestration_id" | "instance_id" => self.operation = Some(value),
            "instance" if self.from_duroxide => self.operation = Some(value),
            "instance" => self.instance = Some(value),
            name if REPEATED.contains(&name) || name.starts_with("log.") => {}
            name => push_field(&mut self.rest, name, &value),
        }
    }

    /// Moves the instance and operation into `labels` when the span has none, drops
    /// them when they repeat it, and keeps them as fields when they differ.
    fn settle(&mut self, labels: &mut Labels) {
        self.take_message_prefix();
        if let Some(instance) = self.instance.take() {
            self.settle_one(&mut labels.instance, instance, "instance");
        }
        if let Some(operation) = self.operation.take() {
            let name = if self.from_duroxide {
                "instance_id"
            } else {
                "orchestration_id"
            };
            self.settle_one(&mut labels.operation, operation, name);
        }
    }

    fn settle_one(&mut self, label: &mut Option<String>, value: String, name: &str) {
        match label {
            None => *label = Some(value),
            Some(known) if *known == value => {}
            Some(_) => push_field(&mut self.rest, name, &value),
        }
    }

    /// `instance=NAME: text` becomes `text` about `NAME`, unless the event names another.
    fn take_message_prefix(&mut self) {
        let Some((name, text)) = message_prefix(&self.message) else {
            return;
        };
        if self.instance.as_deref().is_none_or(|known| known == name) {
            self.instance = Some(name.to_string());
            self.message = text.to_string();
        }
    }
}

/// The name and the text of a message written `instance=NAME: text`.
fn message_prefix(message: &str) -> Option<(&str, &str)> {
    let (name, text) = message.strip_prefix("instance=")?.split_once(": ")?;
    (!name.is_empty() && !name.contains(' ')).then_some((name, text))
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::subscriber::with_default;
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::labels::SpanLabels;

    /// Collects what the text format writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// The line `emit` writes, without its time.
    fn line(emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(SpanLabels).with(
            tracing_subscriber::fmt::layer()
                .event_format(Line)
                .with_writer(captured.clone()),
        );
        with_default(subscriber, emit);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let (_time, rest) = text.trim_end().split_once(' ').unwrap();
        rest.to_string()
    }

    #[test]
    fn duroxide_fields_and_the_name_prefix_give_way_to_the_span() {
        let written = line(|| {
            let span = tracing::info_span!(
                "activity",
                activity = "toygres-orchestrations::activity::operate-instance",
                orchestration_id = "stop-1",
                instance = "shop"
            );
            span.in_scope(|| {
                tracing::info!(
                    target: "duroxide::activity",
                    instance_id = "stop-1",
                    execution_id = 1,
                    orchestration_name = "stop-instance",
                    orchestration_version = "1.0.0",
                    activity_name = "operate-instance",
                    activity_id = 6,
                    worker_id = "work-3",
                    "instance=shop: stopped"
                )
            });
        });
        assert_eq!(written, " INFO instance=shop op=stop-1: stopped");
    }

    #[test]
    fn an_event_outside_a_span_fills_the_labels_from_its_fields() {
        let written = line(|| {
            tracing::info!(
                instance = "shop",
                orchestration_id = "delete-1",
                "delete accepted"
            )
        });
        assert_eq!(written, " INFO instance=shop op=delete-1: delete accepted");
    }

    #[test]
    fn an_id_other_than_the_span_is_kept() {
        let written = line(|| {
            let span = tracing::info_span!("activity", orchestration_id = "start-1");
            span.in_scope(|| {
                tracing::info!(target: "duroxide::client", instance_id = "actor-1", "Deleted instance")
            });
        });
        assert_eq!(
            written,
            " INFO op=start-1: Deleted instance instance_id=actor-1"
        );
    }

    #[test]
    fn other_span_fields_stay_as_key_value() {
        let written = line(|| {
            let span = tracing::info_span!("request", method = "POST", uri = "/api/v1/instances");
            span.in_scope(|| tracing::info!(status = 202, "answered"));
        });
        assert_eq!(
            written,
            " INFO method=POST uri=/api/v1/instances: answered status=202"
        );
    }
}
