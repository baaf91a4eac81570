//! Chart data computed from a scenario's evidence: latency summaries, claims per second over
//! time, and a span timeline.

use super::model::{OperationLatency, TimelineSpan};
use crate::evidence::Evidence;
use crate::telemetry::LatencyBook;

/// Time bins of the throughput chart.
pub const THROUGHPUT_BINS: usize = 20;
/// Spans drawn on a timeline at most.
pub const TIMELINE_SPANS_MAX: usize = 400;

/// Latency figures of every operation kind with samples, in ms.
pub fn latencies(book: &LatencyBook) -> Vec<OperationLatency> {
    let ms = |ns: u64| ns as f64 / 1e6;
    book.summaries()
        .into_iter()
        .map(|s| OperationLatency {
            op: s.op.to_owned(),
            count: s.count,
            mean_ms: s.mean_ns / 1e6,
            p50_ms: ms(s.p50_ns),
            p95_ms: ms(s.p95_ns),
            p99_ms: ms(s.p99_ns),
            max_ms: ms(s.max_ns),
        })
        .collect()
}

/// Winning claims per second in `THROUGHPUT_BINS` equal bins of the `swarm.run` span, as
/// (bin start in s, ops/s); empty for simulated runs.
pub fn claim_throughput(evidence: &Evidence) -> Vec<(f64, f64)> {
    let Some(run) = evidence.named("swarm.run").next() else {
        return Vec::new();
    };
    if run.attr_text("swarm.mode").as_deref() != Some("throughput") {
        return Vec::new();
    }
    let window_ns = run.duration_ns().max(1);
    let bin_ns = (window_ns / THROUGHPUT_BINS as u64).max(1);
    let mut counts = [0u64; THROUGHPUT_BINS];
    for span in evidence.named("work.claim") {
        if span.attr_text("work.outcome").as_deref() != Some("claimed") {
            continue;
        }
        let offset = span.end_unix_ns.saturating_sub(run.start_unix_ns);
        counts[((offset / bin_ns) as usize).min(THROUGHPUT_BINS - 1)] += 1;
    }
    let bin_s = bin_ns as f64 / 1e9;
    counts
        .iter()
        .enumerate()
        .map(|(i, &n)| (i as f64 * bin_s, n as f64 / bin_s))
        .collect()
}

/// The attributes that say how an operation ended, in the order they are looked for.
const OUTCOME_KEYS: [&str; 4] = [
    "work.outcome",
    "request.outcome",
    "deploy.outcome",
    "compliance.outcome",
];

/// The first `TIMELINE_SPANS_MAX` operation spans, positioned relative to the first one.
pub fn timeline(evidence: &Evidence) -> Vec<TimelineSpan> {
    let drawn = |name: &str| !matches!(name, "swarm.run" | "agent.session" | "reaper.session");
    let mut spans: Vec<_> = evidence.spans.iter().filter(|s| drawn(&s.name)).collect();
    spans.sort_by_key(|s| (s.start_unix_ns, s.span_id));
    spans.truncate(TIMELINE_SPANS_MAX);
    let origin = spans.first().map_or(0, |s| s.start_unix_ns);
    spans
        .iter()
        .map(|s| TimelineSpan {
            name: s.name.clone(),
            lane: s
                .attr_text("agent.id")
                .or_else(|| s.attr_text("swarm.component"))
                .unwrap_or_else(|| "swarm".into()),
            start_ms: s.start_unix_ns.saturating_sub(origin) as f64 / 1e6,
            duration_ms: s.duration_ns() as f64 / 1e6,
            error: s.is_error(),
            item: s.attr_text("work.item_id"),
            outcome: OUTCOME_KEYS.iter().find_map(|key| s.attr_text(key)),
        })
        .collect()
}
