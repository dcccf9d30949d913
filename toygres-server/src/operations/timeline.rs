//! An operation's history as a typed timeline.
//!
//! duroxide's events serialise to JSON with their kind in `type` and their payload beside
//! it; the timeline takes that JSON (never the `Debug` text), names the kind in
//! snake_case, shortens the activity or orchestration name, and decodes payloads that are
//! JSON themselves (inputs and results are), so a reader sees structure, not escaped
//! strings.

use chrono::{DateTime, Utc};
use duroxide::Event;
use serde_json::{Map, Value};
use toygres_domain::api::TimelineEntry;

use super::kind;

/// Fields every event has; the rest is its payload.
const COMMON: &[&str] = &[
    "type",
    "event_id",
    "source_event_id",
    "instance_id",
    "execution_id",
    "timestamp_ms",
    "duroxide_version",
];

/// The entry for one event.
pub fn entry(event: &Event) -> TimelineEntry {
    let mut fields = match serde_json::to_value(event) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let kind = fields
        .get("type")
        .and_then(Value::as_str)
        .map_or_else(|| "unknown".to_string(), snake_case);
    let name = fields
        .remove("name")
        .and_then(|name| name.as_str().map(|name| kind::short(name).to_string()));
    if let Some(Value::String(tag)) = fields.get_mut("tag") {
        *tag = kind::short(tag).to_string();
    }
    fields.retain(|key, _| !COMMON.contains(&key.as_str()));
    let detail: Map<String, Value> = fields
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| (key, decoded(value)))
        .collect();
    TimelineEntry {
        at: DateTime::<Utc>::from_timestamp_millis(event.timestamp_ms as i64).unwrap_or_default(),
        event_id: event.event_id,
        kind,
        name,
        completes: event.source_event_id,
        detail: (!detail.is_empty()).then_some(Value::Object(detail)),
    }
}

/// A string that holds JSON, as that JSON; anything else as it is.
pub fn decoded(value: Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(json @ (Value::Object(_) | Value::Array(_))) => json,
            _ => Value::String(text),
        },
        other => other,
    }
}

fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use duroxide::EventKind;

    fn event(kind: EventKind) -> Event {
        Event {
            event_id: 4,
            source_event_id: Some(3),
            instance_id: "create-shop".into(),
            execution_id: 1,
            timestamp_ms: 1_795_647_058_000,
            duroxide_version: "0.1.32".into(),
            kind,
        }
    }

    #[test]
    fn an_activity_result_reads_as_typed_json() {
        let entry = entry(&event(EventKind::ActivityCompleted {
            result: r#"{"outcome":"ready","login_ms":3}"#.into(),
        }));
        assert_eq!(entry.kind, "activity_completed");
        assert_eq!(entry.completes, Some(3));
        assert_eq!(
            entry.detail,
            Some(serde_json::json!({ "result": { "outcome": "ready", "login_ms": 3 } }))
        );
        assert_eq!(entry.at.timestamp_millis(), 1_795_647_058_000);
    }

    #[test]
    fn names_are_short_and_kinds_snake_case() {
        let entry = entry(&event(EventKind::TimerFired { fire_at_ms: 5 }));
        assert_eq!(entry.kind, "timer_fired");
        assert_eq!(
            snake_case("OrchestrationContinuedAsNew"),
            "orchestration_continued_as_new"
        );
        assert_eq!(
            kind::short("toygres-orchestrations::activity::provision-instance"),
            "provision-instance"
        );
    }
}
