//! What a span says about the lines written inside it, kept as data rather than text so
//! the text format can print a span's instance and operation once, in a fixed place,
//! instead of as `span{...}:` prefixes. The orchestration and activity spans
//! (`toygres_orchestrations::log_fields`) and the API's request span are read this way.

use std::fmt;

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Span fields the text format leaves to `--log-format json`: an activity's full name
/// says which step wrote a line, and the message says it in words.
const JSON_ONLY: &[&str] = &["activity"];

/// The fields of one span: the instance it is about, its operation (orchestration id),
/// and the others as `key=value` text.
#[derive(Debug, Default)]
pub struct Labels {
    pub instance: Option<String>,
    pub operation: Option<String>,
    pub rest: String,
}

impl Labels {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "instance" => self.instance = Some(value),
            "orchestration_id" => self.operation = Some(value),
            name if JSON_ONLY.contains(&name) => {}
            name => push_field(&mut self.rest, name, &value),
        }
    }
}

impl Visit for Labels {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

/// Appends ` key=value` (no leading space on empty text).
pub fn push_field(text: &mut String, name: &str, value: &str) {
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(name);
    text.push('=');
    text.push_str(value);
}

/// Keeps each span's [`Labels`] in its extensions, up to date with `Span::record`.
pub struct SpanLabels;

impl<S> Layer<S> for SpanLabels
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut labels = Labels::default();
        attributes.record(&mut labels);
        span.extensions_mut().insert(labels);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(labels) = span.extensions_mut().get_mut::<Labels>() {
            values.record(labels);
        }
    }
}
