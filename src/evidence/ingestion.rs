//! Checks about a span file itself: what the reader could not use, and where.

use super::{Comparison, Verdict};
use crate::ingest::IngestReport;
use crate::telemetry::{SpanRecord, SpanStatus};

fn listed(report: &IngestReport) -> Vec<String> {
    report.skipped.iter().map(ToString::to_string).collect()
}

/// A verdict reached on spans read from a file, told what the reader could not use. When
/// spans were refused, the evidence they carried is gone (a refused claim can hide a double
/// hold), so a pass becomes a failure that says how many and why; other skipped fragments
/// (not JSON, foreign objects, copies) are named in the evidence without failing it. A
/// verdict about the file itself (`skipped_fragments`, …) is judged without this.
pub fn qualified(mut verdict: Verdict, report: &IngestReport) -> Verdict {
    let others = report.skipped_total - report.spans_refused;
    if report.spans_refused > 0 {
        let mut lines = vec![format!(
            "{} spans of the span file were refused and are not in this evidence",
            report.spans_refused
        )];
        lines.extend(
            report
                .refused_first
                .iter()
                .map(|(line, reason)| format!("refused at line {line}: {reason}")),
        );
        lines.append(&mut verdict.evidence);
        verdict.evidence = lines;
        if verdict.passed {
            verdict.passed = false;
            verdict.observed = format!(
                "{}, but only without {} refused spans, so it cannot pass",
                verdict.observed, report.spans_refused
            );
        }
    } else if others > 0 {
        verdict.evidence.push(format!(
            "{others} fragments of the span file were not spans and did not count              (not JSON, other objects, or copies of a span)"
        ));
    }
    verdict
}

/// How many fragments of the file were skipped (not JSON, not a span, or a span missing a
/// field checks need), against `expected`; the evidence lists each with its line.
pub fn skipped_fragments(report: &IngestReport, expected: Comparison) -> Verdict {
    let observed = report.skipped_total as u64;
    Verdict::new(
        "fragments of the span file that could not be read as spans",
        expected.holds(observed),
        expected.describe(),
        format!("{observed} skipped, {} spans read", report.spans),
        listed(report),
    )
}

/// A fragment starting at `line` was reported as skipped.
pub fn fragment_reported_at(report: &IngestReport, line: usize) -> Verdict {
    let at_line: Vec<String> = report
        .skipped
        .iter()
        .filter(|skipped| skipped.line == line)
        .map(ToString::to_string)
        .collect();
    let found = !at_line.is_empty();
    Verdict::new(
        format!("the fragment at line {line} is reported"),
        found,
        format!("a skipped fragment listed at line {line}"),
        format!(
            "skipped fragments at lines {:?}",
            report.skipped.iter().map(|s| s.line).collect::<Vec<_>>()
        ),
        at_line,
    )
}

/// How many spans the file gave, against `expected`.
pub fn spans_read(report: &IngestReport, expected: Comparison) -> Verdict {
    let observed = report.spans as u64;
    Verdict::new(
        "spans read from the span file",
        expected.holds(observed),
        expected.describe(),
        format!("{observed} spans read, {} skipped", report.skipped_total),
        listed(report),
    )
}

/// No span of any name has an error status; the evidence names each error span.
pub fn no_error_spans(spans: &[SpanRecord]) -> Verdict {
    let errors: Vec<String> = spans
        .iter()
        .filter(|span| span.is_error())
        .map(|span| {
            let reason = match &span.status {
                SpanStatus::Error(text) if !text.is_empty() => text.as_str(),
                _ => "no description",
            };
            format!(
                "span {} {} agent={} item={}: {reason}",
                span.span_id_hex(),
                span.name,
                span.attr_text("agent.id").unwrap_or_else(|| "-".into()),
                span.attr_text("work.item_id").unwrap_or_else(|| "-".into()),
            )
        })
        .collect();
    Verdict::new(
        "no span has status error",
        errors.is_empty(),
        "0 error spans",
        format!("{} error spans among {}", errors.len(), spans.len()),
        errors,
    )
}
