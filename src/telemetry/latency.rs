//! HDR latency histograms, one per operation kind.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Every kind of operation the swarm performs; each has a span name and a histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum OpKind {
    /// `work.submit`
    Submit,
    /// `agent.register`
    Register,
    /// `work.claim`
    Claim,
    /// `work.progress`
    Progress,
    /// `work.complete`
    Complete,
    /// `work.release`
    Release,
    /// `work.handoff`
    Handoff,
    /// `agent.heartbeat`
    Heartbeat,
    /// `lease.reap`
    Reap,
    /// `request`: one client request served (or failed) during a simulated deploy.
    Request,
}

impl OpKind {
    /// All kinds, in histogram order.
    pub const ALL: [OpKind; 10] = [
        OpKind::Submit,
        OpKind::Register,
        OpKind::Claim,
        OpKind::Progress,
        OpKind::Complete,
        OpKind::Release,
        OpKind::Handoff,
        OpKind::Heartbeat,
        OpKind::Reap,
        OpKind::Request,
    ];

    /// The span name for this kind.
    pub fn span_name(self) -> &'static str {
        match self {
            OpKind::Submit => "work.submit",
            OpKind::Register => "agent.register",
            OpKind::Claim => "work.claim",
            OpKind::Progress => "work.progress",
            OpKind::Complete => "work.complete",
            OpKind::Release => "work.release",
            OpKind::Handoff => "work.handoff",
            OpKind::Heartbeat => "agent.heartbeat",
            OpKind::Reap => "lease.reap",
            OpKind::Request => "request",
        }
    }

    /// The kind whose span is named `name`.
    pub fn from_span_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.span_name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Highest latency a histogram holds: one hour, in nanoseconds. Larger samples are clamped.
const LATENCY_NS_MAX: u64 = 3_600_000_000_000;
/// Significant decimal digits the histograms keep.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latency histograms (nanoseconds), one per `OpKind`.
#[derive(Debug, Clone)]
pub struct LatencyBook {
    histograms: Vec<Histogram<u64>>,
}

impl Default for LatencyBook {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyBook {
    /// Empty histograms for every kind.
    pub fn new() -> Self {
        let histograms = OpKind::ALL
            .iter()
            .map(|_| {
                Histogram::new_with_bounds(1, LATENCY_NS_MAX, SIGNIFICANT_DIGITS)
                    .expect("constant histogram bounds are valid")
            })
            .collect();
        Self { histograms }
    }

    /// Records one latency.
    pub fn record(&mut self, op: OpKind, latency_ns: u64) {
        self.histograms[op.index()].saturating_record(latency_ns.clamp(1, LATENCY_NS_MAX));
    }

    /// Adds another book's samples to this one.
    pub fn merge(&mut self, other: &LatencyBook) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            mine.add(theirs)
                .expect("histograms with identical bounds always merge");
        }
    }

    /// The histogram of one kind.
    pub fn histogram(&self, op: OpKind) -> &Histogram<u64> {
        &self.histograms[op.index()]
    }

    /// Summary of one kind, or `None` if nothing was recorded.
    pub fn summary(&self, op: OpKind) -> Option<LatencySummary> {
        let h = self.histogram(op);
        (!h.is_empty()).then(|| LatencySummary {
            op: op.span_name(),
            count: h.len(),
            mean_ns: h.mean(),
            p50_ns: h.value_at_quantile(0.50),
            p95_ns: h.value_at_quantile(0.95),
            p99_ns: h.value_at_quantile(0.99),
            max_ns: h.max(),
        })
    }

    /// Summaries of every kind that has samples.
    pub fn summaries(&self) -> Vec<LatencySummary> {
        OpKind::ALL
            .iter()
            .filter_map(|op| self.summary(*op))
            .collect()
    }
}

/// The figures a report shows for one operation kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Span name of the operation.
    pub op: &'static str,
    /// Samples.
    pub count: u64,
    /// Mean, ns.
    pub mean_ns: f64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 95th percentile, ns.
    pub p95_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// Maximum, ns.
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves merging keeps every sample and percentiles come from the merged data.
    #[test]
    fn merge_keeps_all_samples() {
        let mut a = LatencyBook::new();
        let mut b = LatencyBook::new();
        for ns in 1..=99 {
            a.record(OpKind::Claim, ns * 1_000);
        }
        b.record(OpKind::Claim, 1_000_000);
        a.merge(&b);
        let summary = a.summary(OpKind::Claim).unwrap();
        assert_eq!(summary.count, 100);
        assert!(summary.max_ns >= 999_000, "{summary:?}");
        assert!(a.summary(OpKind::Complete).is_none());
    }
}
