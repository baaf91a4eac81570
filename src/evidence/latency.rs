//! Latency and throughput checks, read from the HDR histograms and the `swarm.run` span.

use super::{Evidence, Verdict};
use crate::telemetry::OpKind;

/// A latency in words: microseconds below a millisecond, so fast paths do not read as 0.
fn ms(ns: f64) -> String {
    if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.3} ms", ns / 1e6)
    }
}

/// The latency of `op` at `quantile` (0.99 = p99) is below `bound_ms`.
pub fn percentile_below(evidence: &Evidence, op: OpKind, quantile: f64, bound_ms: f64) -> Verdict {
    percentile_against(evidence, op, quantile, Bound::Below(bound_ms))
}

/// A latency percentile of `op` reaches `floor_ms`: for specs that state a fault must show
/// in latency (a stall measured under open-loop load), where "below" cannot say it.
pub fn percentile_at_least(
    evidence: &Evidence,
    op: OpKind,
    quantile: f64,
    floor_ms: f64,
) -> Verdict {
    percentile_against(evidence, op, quantile, Bound::AtLeast(floor_ms))
}

/// Which side of a bound in ms a percentile must be on.
#[derive(Clone, Copy)]
enum Bound {
    Below(f64),
    AtLeast(f64),
}

fn percentile_against(evidence: &Evidence, op: OpKind, quantile: f64, bound: Bound) -> Verdict {
    let histogram = evidence.latencies.histogram(op);
    let label = format!("p{}", (quantile * 100.0).round());
    let check = format!("{label} latency of \"{}\"", op.span_name());
    let expected = match bound {
        Bound::Below(ms) => format!("below {ms} ms"),
        Bound::AtLeast(ms) => format!("at least {ms} ms"),
    };
    if histogram.is_empty() {
        return Verdict::new(check, false, expected, "no samples", Vec::new());
    }
    let observed_ns = histogram.value_at_quantile(quantile) as f64;
    let holds = match bound {
        Bound::Below(ms) => observed_ns < ms * 1e6,
        Bound::AtLeast(ms) => observed_ns >= ms * 1e6,
    };
    Verdict::new(
        check,
        holds,
        expected,
        ms(observed_ns),
        vec![format!(
            "{} samples; p50 {}, max {}",
            histogram.len(),
            ms(histogram.value_at_quantile(0.5) as f64),
            ms(histogram.max() as f64)
        )],
    )
}

/// The mean latency of `op` is below `bound_ms`.
pub fn mean_below(evidence: &Evidence, op: OpKind, bound_ms: f64) -> Verdict {
    let histogram = evidence.latencies.histogram(op);
    let check = format!("mean latency of \"{}\"", op.span_name());
    if histogram.is_empty() {
        return Verdict::new(
            check,
            false,
            format!("below {bound_ms} ms"),
            "no samples",
            Vec::new(),
        );
    }
    Verdict::new(
        check,
        histogram.mean() < bound_ms * 1e6,
        format!("below {bound_ms} ms"),
        ms(histogram.mean()),
        vec![format!("{} samples", histogram.len())],
    )
}

/// Operations of `op` per second over the `swarm.run` span, measured.
pub fn throughput_ops_per_s(evidence: &Evidence, op: OpKind) -> Option<(f64, u64, u64)> {
    let run = evidence.named("swarm.run").next()?;
    let count = evidence.latencies.histogram(op).len();
    let window_ns = run.duration_ns().max(1);
    Some((count as f64 / (window_ns as f64 / 1e9), count, window_ns))
}

/// The throughput of `op` is at least `floor_ops_per_s`.
pub fn throughput_at_least(evidence: &Evidence, op: OpKind, floor_ops_per_s: f64) -> Verdict {
    let check = format!("throughput of \"{}\"", op.span_name());
    let expected = format!("at least {floor_ops_per_s} ops/s");
    match throughput_ops_per_s(evidence, op) {
        None => Verdict::new(check, false, expected, "no swarm.run span", Vec::new()),
        Some((rate, count, window_ns)) => Verdict::new(
            check,
            count > 0 && rate >= floor_ops_per_s,
            expected,
            format!("{rate:.0} ops/s"),
            vec![format!("{count} operations in {}", ms(window_ns as f64))],
        ),
    }
}
