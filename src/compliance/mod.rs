//! Compliance: a tamper-evident audit log, a secret scanner, an access policy and input
//! validation.
//!
//! Like the rest of the library, what this module does leaves evidence: appends to the audit
//! log write `audit.append` spans carrying the chain's hash, access checks write
//! `access.check` spans; the checks in `checks` decide from those spans, the exported audit
//! entries and the scan report, never from a component's own word.

/// Roles → permissions; every check is a span, every denial an audit entry.
pub mod access;
/// The append-only, hash-chained audit log, and building one from a run's spans.
pub mod audit;
/// Fake credentials of every kind the scanner knows, planted in a scratch directory.
pub mod canary;
/// A store of validated work records kept as JSON text, and hostile-input probes against it.
pub mod catalog;
/// Verifying an exported chain: finding where it was modified, cut, reordered or extended.
pub mod chain;
/// Compliance checks that return a `Verdict`.
pub mod checks;
/// The compliance report: four controls, each a verdict with its evidence.
pub mod controls;
/// The secret scanner: rules, redaction, allow-list.
pub mod secrets;
/// Validation of agent ids, work types, environments and descriptions.
pub mod validation;

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;

use crate::telemetry::SpanRecord;

/// Span names this module writes. The swarm never writes them, so compliance spans can be
/// told apart from (and merged with) a run's spans.
pub const SPAN_NAMES: [&str; 2] = ["audit.append", "access.check"];

/// Whether `span` was written by this module.
pub fn is_compliance_span(span: &SpanRecord) -> bool {
    SPAN_NAMES.contains(&span.name.as_str())
}

/// Writes one instantaneous span at `at_unix_ns`. The caller supplies the time so that
/// compliance spans stay deterministic under a simulated clock: nothing here reads the wall
/// clock.
pub(crate) fn record_span(
    tracer: &SdkTracer,
    name: &'static str,
    at_unix_ns: u64,
    attributes: Vec<KeyValue>,
) {
    let at = SystemTime::UNIX_EPOCH + Duration::from_nanos(at_unix_ns);
    let mut span = tracer
        .span_builder(Cow::Borrowed(name))
        .with_kind(SpanKind::Internal)
        .with_start_time(at)
        .with_attributes(attributes)
        .start(tracer);
    span.end_with_timestamp(at);
}
