//! Decoding an OTLP/HTTP traces request: the body (gzip or not) into the generated
//! `ExportTraceServiceRequest`, and each span into the `SpanRecord` the evidence checks read.
//! Shared by the test receiver and by the receiver a joined run's parent serves.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use prost::Message as _;

use super::receiver::REQUEST_BYTES_MAX;
use crate::telemetry::{AttrKey, AttrValue, SpanRecord, SpanStatus};

/// A refused request: the HTTP status to answer with and why, in words.
pub type Refusal = (&'static str, String);

/// Decodes a request body sent with `content_encoding` (none, `identity` or `gzip`).
pub fn decode_request(
    body: &[u8],
    content_encoding: Option<&str>,
) -> Result<ExportTraceServiceRequest, Refusal> {
    let bad = |problem: String| ("400 Bad Request", problem);
    let inflated;
    let body = match content_encoding {
        None | Some("identity") => body,
        Some("gzip") => {
            inflated = gunzip(body).map_err(bad)?;
            inflated.as_slice()
        }
        Some(other) => {
            return Err((
                "415 Unsupported Media Type",
                format!("content encoding «{other}», expected gzip or none"),
            ))
        }
    };
    ExportTraceServiceRequest::decode(body)
        .map_err(|e| bad(format!("not an ExportTraceServiceRequest: {e}")))
}

/// A gzip body decoded, refusing one that inflates past `REQUEST_BYTES_MAX`.
fn gunzip(body: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(REQUEST_BYTES_MAX as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| format!("not gzip: {e}"))?;
    if decoded.len() > REQUEST_BYTES_MAX {
        return Err(format!("the body inflates past {REQUEST_BYTES_MAX} bytes"));
    }
    Ok(decoded)
}

/// A received span in the form the evidence checks read.
pub fn record(span: opentelemetry_proto::tonic::trace::v1::Span) -> SpanRecord {
    let parent = id_u64(&span.parent_span_id);
    let status = span.status.unwrap_or_default();
    SpanRecord {
        trace_id: span
            .trace_id
            .as_slice()
            .try_into()
            .map_or(0, u128::from_be_bytes),
        span_id: id_u64(&span.span_id),
        parent_span_id: (parent != 0).then_some(parent),
        name: span.name,
        start_unix_ns: span.start_time_unix_nano,
        end_unix_ns: span.end_time_unix_nano,
        // Codes per the OTLP schema: 0 unset, 1 ok, 2 error.
        status: match status.code {
            1 => SpanStatus::Ok,
            2 => SpanStatus::Error(status.message),
            _ => SpanStatus::Unset,
        },
        attributes: span.attributes.iter().map(attribute).collect(),
    }
}

fn id_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map_or(0, u64::from_be_bytes)
}

pub fn attribute(kv: &KeyValue) -> (AttrKey, AttrValue) {
    let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => AttrValue::Str(s.clone()),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
        Some(any_value::Value::DoubleValue(f)) => AttrValue::Float(*f),
        Some(other) => AttrValue::Str(format!("{other:?}")),
        None => AttrValue::Str(String::new()),
    };
    (AttrKey::from(kv.key.as_str()), value)
}
