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

/// The last instant 64-bit nanoseconds since 1970 can hold, for messages.
const NS_LAST_INSTANT: &str = "2554-07-21T23:34:33Z";

/// Nanoseconds since the Unix epoch from a number (already ns), a string of digits (ns; as
/// protobuf JSON writes 64-bit integers), or RFC 3339 text. A time before 1970 or past what
/// 64 bits of nanoseconds hold is refused with the side it falls off, never clamped: a
/// clamped time would silently move a span out of every overlap it took part in.
pub fn unix_ns(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(number) => {
            if let Some(ns) = number.as_u64() {
                return Ok(ns);
            }
            // Integers that are not u64 are negative; the rest are floats (finite: JSON has
            // no NaN or infinity, and serde_json refuses out-of-range literals).
            let float = number.as_f64().unwrap_or(f64::NAN);
            if number.is_i64() || float < 0.0 {
                Err(format!("timestamp {number} ns is before 1970"))
            } else if !float.is_finite() || float >= u64::MAX as f64 {
                Err(format!(
                    "timestamp {number} ns is after {NS_LAST_INSTANT}, past 64-bit nanoseconds"
                ))
            } else {
                Ok(float.round() as u64)
            }
        }
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse::<u64>().map_err(|_| {
                format!("timestamp «{text}» ns is after {NS_LAST_INSTANT}, past 64-bit nanoseconds")
            })
        }
        Value::String(text) => {
            let parsed = OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|error| format!("timestamp «{text}» is not RFC 3339: {error}"))?;
            let ns = parsed.unix_timestamp_nanos();
            u64::try_from(ns).map_err(|_| {
                if ns < 0 {
                    format!("timestamp «{text}» is before 1970")
                } else {
                    format!(
                        "timestamp «{text}» is after {NS_LAST_INSTANT}, past 64-bit nanoseconds"
                    )
                }
            })
        }
        other => Err(format!("timestamp {other} is neither a number nor text")),
    }
}

/// A duration in milliseconds as nanoseconds: refused when negative, not a number, or
/// longer than 64 bits of nanoseconds hold.
pub fn duration_ms_to_ns(value: &Value) -> Result<u64, String> {
    let ms = value
        .as_f64()
        .ok_or_else(|| format!("duration_ms {value} is not a number"))?;
    if ms < 0.0 {
        return Err(format!("duration_ms {value} is negative"));
    }
    let ns = ms * 1e6;
    if !ns.is_finite() || ns >= u64::MAX as f64 {
        return Err(format!(
            "duration_ms {value} is longer than 64-bit nanoseconds hold"
        ));
    }
    Ok(ns.round() as u64)
}

/// A time for messages: RFC 3339 when it is one, else the nanoseconds.
pub fn describe_ns(ns: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ns} ns"))
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

    // Proves absurd times are refused with the side they fall off, never clamped: the
    // 1e300 that once became u64::MAX, and 9999-12-31 that was said to be before 1970.
    #[test]
    fn absurd_timestamps_refused_with_the_right_side() {
        let late = |value: Value| {
            let reason = unix_ns(&value).expect_err("refused");
            assert!(reason.contains("after 2554"), "{reason}");
        };
        late(json!(1e300));
        late(json!("9999-12-31T23:59:59Z"));
        late(json!("99999999999999999999"));
        let early = |value: Value| {
            let reason = unix_ns(&value).expect_err("refused");
            assert!(reason.contains("before 1970"), "{reason}");
        };
        early(json!(-1));
        early(json!(-0.5));
        early(json!("1969-12-31T23:59:59Z"));
        assert_eq!(unix_ns(&json!(1.6)), Ok(2));
    }

    // Proves durations that are negative, not numbers or beyond 64 bits are refused.
    #[test]
    fn absurd_durations_refused() {
        assert_eq!(duration_ms_to_ns(&json!(1.5)), Ok(1_500_000));
        assert!(duration_ms_to_ns(&json!(-1))
            .expect_err("negative")
            .contains("negative"));
        assert!(duration_ms_to_ns(&json!("NaN")).is_err());
        assert!(duration_ms_to_ns(&json!(1e300)).is_err());
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
