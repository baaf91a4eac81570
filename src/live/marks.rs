//! Faults on the timeline: when crashes, failed calls and lease reaps happened, read from
//! the spans' own timestamps in run-relative time (0 is the run's first span), so a
//! deterministic run's simulated clock and a real run's wall clock are drawn alike. Marks
//! are counted in `BUCKETS` equal slices of the run, so the timeline stays the same size
//! however many faults a run has.

use serde::Serialize;

use crate::telemetry::SpanRecord;

/// Slices of the run the marks are counted in.
pub const BUCKETS: usize = 200;

/// Faults of one kind in one slice of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mark {
    /// `crash`, `error` or `reap`.
    pub kind: &'static str,
    /// Start of the slice, seconds since the run's first span.
    pub t_s: f64,
    /// How many.
    pub count: usize,
}

/// The marks of one snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct FaultTimeline {
    /// Seconds from the first span's start to the last span's end.
    pub span_s: f64,
    /// Non-empty slices, kind by kind, in time order.
    pub marks: Vec<Mark>,
}

/// A fault the run was configured to inject, in run-relative time (a crash is a window of
/// no length).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FaultWindow {
    /// `crash`, `outage`, `partition` or `stall`.
    pub kind: &'static str,
    /// In words.
    pub label: String,
    /// Seconds since the run's start.
    pub start_s: f64,
    /// Seconds since the run's start.
    pub end_s: f64,
}

fn kind_of(span: &SpanRecord) -> Option<&'static str> {
    match span.name.as_str() {
        "agent.crash" => Some("crash"),
        "lease.reap" => Some("reap"),
        _ if span.is_error() => Some("error"),
        _ => None,
    }
}

/// The kinds of mark, in the order the timeline lists them.
const KINDS: [&str; 3] = ["crash", "error", "reap"];

/// What a timeline needs of the spans seen so far, gathered span by span: the run's extent
/// and when each fault happened. The live checker feeds it only the spans new since its last
/// look; the timeline is drawn from it afresh each time, since the slices widen as the run
/// grows.
#[derive(Debug, Clone, Default)]
pub struct FaultMarks {
    first_ns: Option<u64>,
    last_ns: u64,
    /// (row in `KINDS`, start ns) of every fault seen.
    faults: Vec<(usize, u64)>,
}

impl FaultMarks {
    /// Takes one more span into account.
    pub fn add(&mut self, span: &SpanRecord) {
        self.first_ns = Some(
            self.first_ns
                .map_or(span.start_unix_ns, |first| first.min(span.start_unix_ns)),
        );
        self.last_ns = self.last_ns.max(span.end_unix_ns);
        let row = kind_of(span).and_then(|kind| KINDS.iter().position(|k| *k == kind));
        if let Some(row) = row {
            self.faults.push((row, span.start_unix_ns));
        }
    }

    /// The timeline of every span added so far.
    pub fn timeline(&self) -> FaultTimeline {
        let Some(first) = self.first_ns else {
            return FaultTimeline::default();
        };
        let span_ns = self.last_ns.max(first).saturating_sub(first).max(1);
        let bucket_ns = span_ns.div_ceil(BUCKETS as u64).max(1);
        let mut counts = vec![[0usize; BUCKETS]; KINDS.len()];
        for &(row, start_ns) in &self.faults {
            let bucket = (start_ns.saturating_sub(first) / bucket_ns) as usize;
            counts[row][bucket.min(BUCKETS - 1)] += 1;
        }
        let marks = KINDS
            .iter()
            .zip(&counts)
            .flat_map(|(&kind, row)| {
                row.iter().enumerate().filter(|(_, &count)| count > 0).map(
                    move |(bucket, &count)| Mark {
                        kind,
                        t_s: (bucket as u64 * bucket_ns) as f64 / 1e9,
                        count,
                    },
                )
            })
            .collect();
        FaultTimeline {
            span_s: span_ns as f64 / 1e9,
            marks,
        }
    }
}

/// The fault timeline of `spans`.
pub fn from_spans(spans: &[SpanRecord]) -> FaultTimeline {
    let mut marks = FaultMarks::default();
    for span in spans {
        marks.add(span);
    }
    marks.timeline()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::SpanStatus;

    fn span(name: &str, start_ms: u64, error: bool) -> SpanRecord {
        SpanRecord {
            trace_id: 1,
            span_id: start_ms + 1,
            parent_span_id: None,
            name: name.into(),
            start_unix_ns: 1_000_000_000 + start_ms * 1_000_000,
            end_unix_ns: 1_000_000_000 + (start_ms + 1) * 1_000_000,
            status: if error {
                SpanStatus::Error("down".into())
            } else {
                SpanStatus::Unset
            },
            attributes: Vec::new(),
        }
    }

    // Proves marks sit at the spans' run-relative times, by kind, counted per slice, and a
    // run without faults has no marks.
    #[test]
    fn marks_are_placed_by_the_spans_own_times() {
        let quiet = [
            span("work.claim", 0, false),
            span("work.claim", 1999, false),
        ];
        assert!(from_spans(&quiet).marks.is_empty());
        let spans = [
            span("work.claim", 0, false),
            span("agent.crash", 500, false),
            span("work.claim", 1000, true),
            span("work.claim", 1000, true),
            span("lease.reap", 1500, false),
            span("work.claim", 1999, false),
        ];
        let timeline = from_spans(&spans);
        assert!((timeline.span_s - 2.0).abs() < 1e-9);
        let seen: Vec<_> = timeline
            .marks
            .iter()
            .map(|m| (m.kind, (m.t_s * 10.0).round() / 10.0, m.count))
            .collect();
        assert_eq!(
            seen,
            [("crash", 0.5, 1), ("error", 1.0, 2), ("reap", 1.5, 1)]
        );
    }
}
