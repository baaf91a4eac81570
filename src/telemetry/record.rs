//! `SpanRecord`: a span as evidence checks see it, owned and independent of the exporter.
//!
//! Checks read this form, not the SDK's `SpanData`, so the same checks can later run on spans
//! that came from elsewhere (files a real system wrote) or from a compact store.

use std::time::SystemTime;

use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde::Serialize;

/// An attribute's key: shared text (`Arc<str>`), since millions of decoded spans carry the
/// same few dozen keys.
pub type AttrKey = std::sync::Arc<str>;

/// An attribute value, reduced to the kinds checks compare.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// Text.
    Str(String),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Boolean.
    Bool(bool),
}

impl AttrValue {
    /// Whether this value equals the text a spec wrote (`"claimed"`, `42`, `true`).
    pub fn matches_text(&self, text: &str) -> bool {
        match self {
            AttrValue::Str(s) => s == text,
            AttrValue::Int(i) => text.parse::<i64>().is_ok_and(|t| t == *i),
            AttrValue::Float(f) => text.parse::<f64>().is_ok_and(|t| t == *f),
            AttrValue::Bool(b) => text.parse::<bool>().is_ok_and(|t| t == *b),
        }
    }
}

impl std::fmt::Display for AttrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrValue::Str(s) => f.write_str(s),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Float(x) => write!(f, "{x}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SpanStatus {
    /// Not set (the normal case).
    Unset,
    /// Explicitly fine.
    Ok,
    /// A real error, with its description.
    Error(String),
}

/// One finished span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanRecord {
    /// Trace id as a number.
    pub trace_id: u128,
    /// Span id.
    pub span_id: u64,
    /// Parent span id; `None` for a root.
    pub parent_span_id: Option<u64>,
    /// Dotted name, e.g. `work.claim`.
    pub name: String,
    /// Start, nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_unix_ns: u64,
    /// Status.
    pub status: SpanStatus,
    /// Attributes in the order they were set. Keys are shared, not owned: a store's decoded
    /// spans hand out the one interned copy of each key rather than a string per attribute.
    pub attributes: Vec<(AttrKey, AttrValue)>,
}

/// Nanoseconds since the Unix epoch; 0 for times before it.
pub(crate) fn unix_ns(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn attr_value(value: &Value) -> AttrValue {
    match value {
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::I64(i) => AttrValue::Int(*i),
        Value::F64(f) => AttrValue::Float(*f),
        other => AttrValue::Str(other.as_str().into_owned()),
    }
}

impl SpanRecord {
    /// Converts the SDK's exported form.
    pub fn from_span_data(span: &SpanData) -> Self {
        let parent = u64::from_be_bytes(span.parent_span_id.to_bytes());
        Self {
            trace_id: u128::from_be_bytes(span.span_context.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(span.span_context.span_id().to_bytes()),
            parent_span_id: (parent != 0).then_some(parent),
            name: span.name.to_string(),
            start_unix_ns: unix_ns(span.start_time),
            end_unix_ns: unix_ns(span.end_time),
            status: match &span.status {
                Status::Unset => SpanStatus::Unset,
                Status::Ok => SpanStatus::Ok,
                Status::Error { description } => SpanStatus::Error(description.to_string()),
            },
            attributes: span
                .attributes
                .iter()
                .map(|kv| (AttrKey::from(kv.key.as_str()), attr_value(&kv.value)))
                .collect(),
        }
    }

    /// The value of attribute `key`, if set.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|(k, _)| **k == *key)
            .map(|(_, value)| value)
    }

    /// The text of attribute `key`, if set (numbers and booleans rendered as text).
    pub fn attr_text(&self, key: &str) -> Option<String> {
        self.attr(key).map(ToString::to_string)
    }

    /// Whether the status is an error.
    pub fn is_error(&self) -> bool {
        matches!(self.status, SpanStatus::Error(_))
    }

    /// Duration in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_ns.saturating_sub(self.start_unix_ns)
    }

    /// The span id as OTel prints it (16 hex digits), for evidence lines.
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}
