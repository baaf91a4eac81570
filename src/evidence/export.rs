//! Checks about a span export: did the collector get what the capture holds, and when it
//! could not, did the export say so.

use std::collections::HashMap;

use super::Verdict;
use crate::telemetry::otlp::ExportReport;
use crate::telemetry::SpanRecord;

/// The fields of `received` that differ from `captured` (attributes compared as a set, since
/// an exporter may reorder them).
fn differences(captured: &SpanRecord, received: &SpanRecord) -> Vec<&'static str> {
    let sorted = |span: &SpanRecord| {
        let mut attributes: Vec<String> = span
            .attributes
            .iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect();
        attributes.sort_unstable();
        attributes
    };
    let checks = [
        ("name", captured.name == received.name),
        ("trace id", captured.trace_id == received.trace_id),
        ("parent", captured.parent_span_id == received.parent_span_id),
        ("start", captured.start_unix_ns == received.start_unix_ns),
        ("end", captured.end_unix_ns == received.end_unix_ns),
        ("status", captured.status == received.status),
        ("attributes", sorted(captured) == sorted(received)),
    ];
    checks
        .iter()
        .filter(|(_, same)| !same)
        .map(|(field, _)| *field)
        .collect()
}

/// Every captured span arrived exactly once, identical in name, ids, times, status and
/// attributes, and nothing arrived that the capture does not hold.
pub fn received_every_span(captured: &[SpanRecord], received: &[SpanRecord]) -> Verdict {
    let mut arrivals: HashMap<u64, Vec<&SpanRecord>> = HashMap::new();
    for span in received {
        arrivals.entry(span.span_id).or_default().push(span);
    }
    let (mut missing, mut duplicated, mut differing) = (0_usize, 0_usize, 0_usize);
    let mut evidence = Vec::new();
    for span in captured {
        let label = format!("{} span {}", span.name, span.span_id_hex());
        match arrivals.remove(&span.span_id).as_deref() {
            None | Some([]) => {
                missing += 1;
                evidence.push(format!("{label}: never received"));
            }
            Some([one]) => {
                let fields = differences(span, one);
                if !fields.is_empty() {
                    differing += 1;
                    evidence.push(format!(
                        "{label}: received with a different {}",
                        fields.join(", ")
                    ));
                }
            }
            Some(many) => {
                duplicated += 1;
                evidence.push(format!("{label}: received {} times", many.len()));
            }
        }
    }
    let extra: usize = arrivals.values().map(Vec::len).sum();
    for span in arrivals.values().flatten() {
        evidence.push(format!(
            "{} span {}: received but not in the capture",
            span.name,
            span.span_id_hex()
        ));
    }
    Verdict::new(
        "the OTLP receiver holds exactly the captured spans",
        missing + duplicated + differing + extra == 0,
        format!(
            "each of the {} captured spans received once, unchanged, and nothing else",
            captured.len()
        ),
        format!(
            "{} received: {missing} missing, {duplicated} duplicated, {differing} changed, {extra} not captured",
            received.len()
        ),
        evidence,
    )
}

/// The export was handed spans, sent none, and gave a reason (a collector that cannot be
/// reached must not be mistaken for one that received everything).
pub fn failure_reported(report: &ExportReport) -> Verdict {
    let reason = report
        .collector_error
        .clone()
        .or_else(|| report.flush_error.clone());
    let accounted = report.spans_failed + report.spans_unaccounted == report.spans_ended;
    Verdict::new(
        "an export that could not reach its collector says so",
        report.spans_ended > 0 && report.spans_sent == 0 && accounted && reason.is_some(),
        "spans handed over, none sent, every one counted as failed or dropped, with a reason",
        report.to_string(),
        reason.into_iter().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{AttrValue, SpanStatus};

    fn span(span_id: u64, item: &str) -> SpanRecord {
        SpanRecord {
            trace_id: 7,
            span_id,
            parent_span_id: Some(1),
            name: "work.claim".into(),
            start_unix_ns: 10,
            end_unix_ns: 20,
            status: SpanStatus::Unset,
            attributes: vec![
                ("work.item_id".into(), AttrValue::Str(item.into())),
                ("work.attempt".into(), AttrValue::Int(1)),
            ],
        }
    }

    // The same spans, attributes reordered, pass; a missing, changed or extra span fails.
    #[test]
    fn finds_every_kind_of_mismatch() {
        let captured = vec![span(2, "a"), span(3, "b")];
        let mut reordered = captured.clone();
        reordered[0].attributes.reverse();
        assert!(received_every_span(&captured, &reordered).passed);

        let verdict = received_every_span(&captured, &[span(2, "a"), span(3, "z"), span(4, "c")]);
        assert!(!verdict.passed);
        assert!(
            verdict.observed.contains("1 changed, 1 not captured"),
            "{verdict}"
        );
        let verdict = received_every_span(&captured, &[span(2, "a"), span(2, "a")]);
        assert!(
            verdict.observed.contains("1 missing, 1 duplicated"),
            "{verdict}"
        );
    }
}
