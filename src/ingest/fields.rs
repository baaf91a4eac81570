//! Field conversions shared by both formats: ids, timestamps, attribute values.
//!
//! Each returns a `Result<_, String>`: the text is the reason a span is skipped, and the
//! caller adds where it was.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::telemetry::AttrValue;

/// An id as a number: hex text is read as hex (OTel's form, dashes allowed as in a UUID);
/// any other non-empty text is hashed, so ids a script made up (`trace-42`) still group and
/// link spans exactly as the text does.
pub fn id_from_text(text: &str) -> Option<u128> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.is_empty() {
        return None;
    }
    if hex.len() <= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u128::from_str_radix(&hex, 16).ok();
    }
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Some(u128::from_be_bytes(bytes))
}

/// A required trace id.
pub fn trace_id(value: Option<&Value>, field: &str) -> Result<u128, String> {
    value
        .and_then(Value::as_str)
        .and_then(id_from_text)
        .ok_or_else(|| format!("missing or empty {field}"))
}

/// A required span id (the low 64 bits of the parsed id).
pub fn span_id(value: Option<&Value>, field: &str) -> Result<u64, String> {
    trace_id(value, field).map(|id| id as u64)
}

/// An optional parent: absent, null, empty or all zeros mean a root span.
pub fn parent_id(value: Option<&Value>) -> Option<u64> {
    let id = value.and_then(Value::as_str).and_then(id_from_text)? as u64;
    (id != 0).then_some(id)
}

/// Nanoseconds since the Unix epoch from a number (already ns), a string of digits (ns; as
/// protobuf JSON writes 64-bit integers), or RFC 3339 text.
pub fn unix_ns(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| format!("timestamp {number} is not a non-negative number")),
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse::<u64>()
            .map_err(|_| format!("timestamp «{text}» does not fit in 64 bits")),
        Value::String(text) => {
            let parsed = OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|error| format!("timestamp «{text}» is not RFC 3339: {error}"))?;
            u64::try_from(parsed.unix_timestamp_nanos())
                .map_err(|_| format!("timestamp «{text}» is before 1970"))
        }
        other => Err(format!("timestamp {other} is neither a number nor text")),
    }
}

/// An attribute value from plain JSON; nested objects and arrays are kept as JSON text.
pub fn attr_from_json(value: &Value) -> AttrValue {
    match value {
        Value::String(text) => AttrValue::Str(text.clone()),
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Int(i),
            None => AttrValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => AttrValue::Str(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Proves RFC 3339 (with offset), digit strings and numbers all give nanoseconds.
    #[test]
    fn timestamps_in_every_form() {
        let expected = 1_700_000_000_123_000_000u64;
        assert_eq!(unix_ns(&json!("2023-11-14T22:13:20.123Z")), Ok(expected));
        assert_eq!(
            unix_ns(&json!("2023-11-15T00:13:20.123+02:00")),
            Ok(expected)
        );
        assert_eq!(unix_ns(&json!(expected.to_string())), Ok(expected));
        assert_eq!(unix_ns(&json!(expected)), Ok(expected));
        assert!(unix_ns(&json!("yesterday")).is_err());
    }

    // Proves hex ids parse as hex and made-up ids still compare equal to themselves.
    #[test]
    fn ids_hex_or_hashed() {
        assert_eq!(id_from_text("00ff"), Some(255));
        assert_eq!(id_from_text("trace-42"), id_from_text("trace-42"));
        assert_ne!(id_from_text("trace-42"), id_from_text("trace-43"));
        assert_eq!(parent_id(Some(&json!("0000000000000000"))), None);
        assert_eq!(parent_id(Some(&json!(""))), None);
    }
}
