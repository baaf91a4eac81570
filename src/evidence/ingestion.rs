//! Checks about a span file itself: what the reader could not use, and where.

use super::{Comparison, Verdict};
use crate::ingest::IngestReport;

fn listed(report: &IngestReport) -> Vec<String> {
    report
        .skipped
        .iter()
        .map(|(line, reason)| format!("line {line}: {reason}"))
        .collect()
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
        .filter(|(at, _)| *at == line)
        .map(|(at, reason)| format!("line {at}: {reason}"))
        .collect();
    let found = !at_line.is_empty();
    Verdict::new(
        format!("the fragment at line {line} is reported"),
        found,
        format!("a skipped fragment listed at line {line}"),
        format!(
            "skipped fragments at lines {:?}",
            report.skipped.iter().map(|(at, _)| *at).collect::<Vec<_>>()
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
