//! One OTLP JSON document (`{"resourceSpans": [...]}`), as the collector's file exporter
//! writes it: protobuf's JSON mapping, so 64-bit integers may be strings and enums may be
//! names or numbers.

use serde_json::{Map, Value};

use super::fields;
use crate::telemetry::{AttrKey, AttrValue, SpanRecord, SpanStatus};

/// Whether an object is an OTLP traces document.
pub fn is_otlp(object: &Map<String, Value>) -> bool {
    object.contains_key("resourceSpans")
}

fn array<'a>(object: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    object
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An OTLP `AnyValue`; arrays and key-value lists are kept as their JSON text.
fn any_value(value: &Value) -> Result<AttrValue, String> {
    let object = value
        .as_object()
        .ok_or("attribute value is not an object")?;
    if let Some(text) = object.get("stringValue").and_then(Value::as_str) {
        return Ok(AttrValue::Str(text.to_owned()));
    }
    if let Some(b) = object.get("boolValue").and_then(Value::as_bool) {
        return Ok(AttrValue::Bool(b));
    }
    if let Some(int) = object.get("intValue") {
        let parsed = match int {
            Value::String(text) => text.parse::<i64>().ok(),
            other => other.as_i64(),
        };
        return parsed
            .map(AttrValue::Int)
            .ok_or_else(|| format!("intValue {int} is not a 64-bit integer"));
    }
    if let Some(double) = object.get("doubleValue") {
        let parsed = match double {
            Value::String(text) => text.parse::<f64>().ok(),
            other => other.as_f64(),
        };
        return parsed
            .map(AttrValue::Float)
            .ok_or_else(|| format!("doubleValue {double} is not a number"));
    }
    Ok(AttrValue::Str(
        object
            .values()
            .next()
            .map_or_else(String::new, ToString::to_string),
    ))
}

fn attributes(span: &Map<String, Value>) -> Result<Vec<(AttrKey, AttrValue)>, String> {
    array(span, "attributes")
        .iter()
        .map(|kv| {
            let key = kv
                .get("key")
                .and_then(Value::as_str)
                .ok_or("attribute without a key")?;
            let value = kv
                .get("value")
                .ok_or_else(|| format!("attribute {key} has no value"))?;
            Ok((AttrKey::from(key), any_value(value)?))
        })
        .collect()
}

/// OTLP status codes: 0 unset, 1 ok, 2 error (as numbers or as enum names).
fn status(span: &Map<String, Value>) -> Result<SpanStatus, String> {
    let Some(status) = span.get("status").and_then(Value::as_object) else {
        return Ok(SpanStatus::Unset);
    };
    let message = status
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match status.get("code") {
        None | Some(Value::Null) => Ok(SpanStatus::Unset),
        Some(code) => match (code.as_u64(), code.as_str()) {
            (Some(0), _) | (_, Some("STATUS_CODE_UNSET")) => Ok(SpanStatus::Unset),
            (Some(1), _) | (_, Some("STATUS_CODE_OK")) => Ok(SpanStatus::Ok),
            (Some(2), _) | (_, Some("STATUS_CODE_ERROR")) => {
                Ok(SpanStatus::Error(message.to_owned()))
            }
            _ => Err(format!("status code {code} is not 0, 1 or 2")),
        },
    }
}

fn to_record(span: &Map<String, Value>) -> Result<SpanRecord, String> {
    let time = |key: &str| {
        span.get(key)
            .ok_or_else(|| format!("no {key}"))
            .and_then(fields::unix_ns)
    };
    let (start_unix_ns, end_unix_ns) = (time("startTimeUnixNano")?, time("endTimeUnixNano")?);
    if end_unix_ns < start_unix_ns {
        return Err(format!(
            "endTimeUnixNano {} is before startTimeUnixNano {}",
            fields::describe_ns(end_unix_ns),
            fields::describe_ns(start_unix_ns)
        ));
    }
    Ok(SpanRecord {
        trace_id: fields::trace_id(span.get("traceId"), "traceId")?,
        span_id: fields::span_id(span.get("spanId"), "spanId")?,
        parent_span_id: fields::parent_id(span.get("parentSpanId")),
        name: span
            .get("name")
            .and_then(Value::as_str)
            .ok_or("no name")?
            .to_owned(),
        start_unix_ns,
        end_unix_ns,
        status: status(span)?,
        attributes: attributes(span)?,
    })
}

/// A span of a document that did not convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Its place (`resourceSpans[0].scopeSpans[1].spans[2]`) and why.
    pub reason: String,
    /// Whether it says it failed (status code 2): an error no check could judge.
    pub error_status: bool,
}

fn says_error(span: &Value) -> bool {
    let code = span.get("status").and_then(|status| status.get("code"));
    code.is_some_and(|code| code.as_u64() == Some(2) || code.as_str() == Some("STATUS_CODE_ERROR"))
}

/// Every span of a document; a span that does not convert is returned as a refusal naming
/// its place, and the others still convert.
pub fn spans(document: &Map<String, Value>) -> Vec<Result<SpanRecord, Refused>> {
    let mut out = Vec::new();
    for (r, resource) in array(document, "resourceSpans").iter().enumerate() {
        let Some(resource) = resource.as_object() else {
            out.push(Err(Refused {
                reason: format!("resourceSpans[{r}] is not an object"),
                error_status: false,
            }));
            continue;
        };
        // Older exporters said instrumentationLibrarySpans for scopeSpans.
        let scopes = match array(resource, "scopeSpans") {
            [] => array(resource, "instrumentationLibrarySpans"),
            scopes => scopes,
        };
        for (s, scope) in scopes.iter().enumerate() {
            let scope_spans = scope.as_object().map_or(&[][..], |s| array(s, "spans"));
            for (i, span) in scope_spans.iter().enumerate() {
                let converted = span
                    .as_object()
                    .ok_or_else(|| "not an object".to_owned())
                    .and_then(to_record);
                out.push(converted.map_err(|reason| Refused {
                    reason: format!("resourceSpans[{r}].scopeSpans[{s}].spans[{i}]: {reason}"),
                    error_status: says_error(span),
                }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Proves a collector-style span converts, with string nanoseconds and typed attributes,
    // and that a broken sibling is reported by its place without losing the good one.
    #[test]
    fn converts_spans_and_names_broken_ones() {
        let document = json!({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
             "parentSpanId": "", "name": "work.claim", "kind": 1,
             "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": 1544712661000000000u64,
             "attributes": [{"key": "agent.id", "value": {"stringValue": "a1"}},
                            {"key": "work.stage", "value": {"intValue": "0"}}],
             "status": {"code": 2, "message": "boom"}},
            {"traceId": "5b8efff798038103d269b633813fc60c", "name": "no.span.id",
             "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "01", "name": "backwards",
             "startTimeUnixNano": "2000000000", "endTimeUnixNano": "1000000000"}
        ]}]}]});
        let converted = spans(document.as_object().expect("object"));
        let first = converted[0].as_ref().expect("first span converts");
        assert_eq!(first.parent_span_id, None);
        assert_eq!(first.duration_ns(), 1_000_000_000);
        assert_eq!(first.attr("work.stage"), Some(&AttrValue::Int(0)));
        assert_eq!(first.status, SpanStatus::Error("boom".into()));
        let second = &converted[1]
            .as_ref()
            .expect_err("second span lacks spanId")
            .reason;
        assert!(
            second.starts_with("resourceSpans[0].scopeSpans[0].spans[1]"),
            "{second}"
        );
        let third = &converted[2]
            .as_ref()
            .expect_err("third span ends before it starts")
            .reason;
        assert!(third.contains("is before startTimeUnixNano"), "{third}");
    }
}
