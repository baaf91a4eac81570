//! One object of a span log: the flat schema scripts write (`trace_id`, `span_id`,
//! `parent_span_id`, `operation_name`, `status`, `start_time`, `duration_ms`,
//! `span_attributes`).

use serde_json::{Map, Value};

use super::fields;
use crate::telemetry::{AttrKey, SpanRecord, SpanStatus};

/// Whether an object looks like a span-log record (and so must convert or be reported).
pub fn is_span_log(object: &Map<String, Value>) -> bool {
    object.contains_key("operation_name")
}

fn status(object: &Map<String, Value>) -> Result<SpanStatus, String> {
    let message = object
        .get("status_message")
        .or_else(|| object.get("error"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match object.get("status") {
        None | Some(Value::Null) => Ok(SpanStatus::Unset),
        Some(Value::String(text)) => match text.to_ascii_lowercase().as_str() {
            "ok" => Ok(SpanStatus::Ok),
            "error" => Ok(SpanStatus::Error(message)),
            "unset" | "" => Ok(SpanStatus::Unset),
            other => Err(format!("status «{other}» is not ok, error or unset")),
        },
        Some(other) => Err(format!("status {other} is not text")),
    }
}

/// The span's end: `end_time` if given, else `start + duration_ms`.
fn end_ns(object: &Map<String, Value>, start_ns: u64) -> Result<u64, String> {
    if let Some(end) = object.get("end_time") {
        return fields::unix_ns(end);
    }
    let duration = object
        .get("duration_ms")
        .ok_or("neither duration_ms nor end_time")?;
    let duration_ns = fields::duration_ms_to_ns(duration)?;
    start_ns
        .checked_add(duration_ns)
        .ok_or_else(|| format!("start_time plus duration_ms {duration} is past 64-bit nanoseconds"))
}

/// Converts one span-log object; the error says which field was wrong.
pub fn to_record(object: &Map<String, Value>) -> Result<SpanRecord, String> {
    let name = object
        .get("operation_name")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .ok_or("operation_name is not a non-empty text")?;
    let start_unix_ns = fields::unix_ns(object.get("start_time").ok_or("no start_time")?)?;
    let end_unix_ns = end_ns(object, start_unix_ns)?;
    if end_unix_ns < start_unix_ns {
        return Err("end_time is before start_time".into());
    }
    let attributes = match object
        .get("span_attributes")
        .or_else(|| object.get("attributes"))
    {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| (AttrKey::from(key.as_str()), fields::attr_from_json(value)))
            .collect(),
        Some(other) => return Err(format!("span_attributes {other} is not an object")),
    };
    Ok(SpanRecord {
        trace_id: fields::trace_id(object.get("trace_id"), "trace_id")?,
        span_id: fields::span_id(object.get("span_id"), "span_id")?,
        parent_span_id: fields::parent_id(object.get("parent_span_id")),
        name: name.to_owned(),
        start_unix_ns,
        end_unix_ns,
        status: status(object)?,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::AttrValue;
    use serde_json::json;

    fn convert(value: Value) -> Result<SpanRecord, String> {
        to_record(value.as_object().expect("tests pass objects"))
    }

    // Proves every field of the flat schema lands in the record.
    #[test]
    fn converts_a_full_record() {
        let span = convert(json!({
            "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
            "parent_span_id": "00f067aa0ba902b7", "operation_name": "work.claim",
            "status": "error", "error": "lost race",
            "start_time": "2024-01-01T00:00:00Z", "duration_ms": 1.5,
            "span_attributes": {"agent.id": "a1", "attempt": 2}
        }))
        .expect("valid record");
        assert_eq!(span.name, "work.claim");
        assert_eq!(span.parent_span_id, Some(0x00f0_67aa_0ba9_02b7));
        assert_eq!(span.duration_ns(), 1_500_000);
        assert_eq!(span.status, SpanStatus::Error("lost race".into()));
        assert_eq!(span.attr("attempt"), Some(&AttrValue::Int(2)));
    }

    // Proves a record missing what checks need is refused with the field named.
    #[test]
    fn refuses_incomplete_records() {
        let missing_time = convert(json!({"trace_id": "1", "span_id": "2",
            "operation_name": "x", "duration_ms": 1}));
        assert_eq!(missing_time.unwrap_err(), "no start_time");
        let bad_status = convert(
            json!({"trace_id": "1", "span_id": "2", "operation_name": "x",
            "start_time": 5, "duration_ms": 1, "status": "meh"}),
        );
        assert!(bad_status.unwrap_err().contains("meh"));
    }

    // Proves a negative duration and an end before the start are refused, with the reason.
    #[test]
    fn refuses_backwards_spans() {
        let negative = convert(
            json!({"trace_id": "1", "span_id": "2", "operation_name": "x",
            "start_time": 5, "duration_ms": -1}),
        );
        assert!(negative.unwrap_err().contains("negative"));
        let backwards = convert(
            json!({"trace_id": "1", "span_id": "2", "operation_name": "x",
            "start_time": 5, "end_time": 4}),
        );
        assert!(backwards.unwrap_err().contains("before start_time"));
    }
}
