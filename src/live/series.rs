//! The rolling numbers behind the live charts: one `Tick` per sampling interval, kept in a
//! ring of fixed length, so a 30-minute soak holds exactly as much as a 30-second run.

use std::collections::VecDeque;

use serde::Serialize;

use crate::telemetry::{LatencyBook, OpKind};

/// Ticks kept: at one tick per `SAMPLE_EVERY` (500 ms) this is the last five minutes.
pub const RING_LEN: usize = 600;

/// One operation kind over one interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct OpPoint {
    /// Operations finished in the interval, per second.
    pub rate: f64,
    /// Median latency of the interval's operations, µs (0 when there were none).
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
}

/// Everything sampled at one instant.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tick {
    /// Seconds since the view started.
    pub t_s: f64,
    /// Items finished so far.
    pub finished: u64,
    /// Operations recorded so far, every kind (agents hand latencies over in batches, so
    /// this moves in steps).
    pub ops_total: u64,
    /// Spans captured so far (stored as each ends).
    pub spans: usize,
    /// Per `OpKind::ALL` entry.
    pub ops: Vec<OpPoint>,
}

/// The ring of ticks plus what the next tick's differences are taken against.
#[derive(Debug)]
pub struct Series {
    ticks: VecDeque<Tick>,
    last: Option<(f64, LatencyBook)>,
}

impl Default for Series {
    fn default() -> Self {
        Self::new()
    }
}

impl Series {
    /// An empty ring.
    pub fn new() -> Self {
        Self {
            ticks: VecDeque::with_capacity(RING_LEN),
            last: None,
        }
    }

    /// Adds the tick at `t_s`, from the cumulative histograms `book`: rates and percentiles
    /// are of the operations recorded since the previous tick. Returns the new tick.
    pub fn push(&mut self, t_s: f64, counts: (u64, usize), book: LatencyBook) -> Tick {
        let (finished, spans) = counts;
        let ops = OpKind::ALL
            .iter()
            .map(|&op| match &self.last {
                Some((last_t, last_book)) => interval(op, &book, last_book, t_s - last_t),
                None => OpPoint {
                    rate: 0.0,
                    p50_us: 0.0,
                    p99_us: 0.0,
                },
            })
            .collect();
        let ops_total = OpKind::ALL.iter().map(|&op| book.histogram(op).len()).sum();
        let tick = Tick {
            t_s,
            finished,
            ops_total,
            spans,
            ops,
        };
        if self.ticks.len() == RING_LEN {
            self.ticks.pop_front();
        }
        self.ticks.push_back(tick.clone());
        self.last = Some((t_s, book));
        tick
    }

    /// Every tick kept, oldest first.
    pub fn ticks(&self) -> Vec<Tick> {
        self.ticks.iter().cloned().collect()
    }

    /// How many ticks are kept.
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }
}

/// One kind's point between two cumulative books `seconds` apart.
fn interval(op: OpKind, now: &LatencyBook, before: &LatencyBook, seconds: f64) -> OpPoint {
    let mut delta = now.histogram(op).clone();
    // Both books come from one capture, so the earlier one is a subset of the later; a
    // failure (never expected) leaves the point empty rather than wrong.
    if delta.subtract(before.histogram(op)).is_err() || delta.is_empty() {
        return OpPoint {
            rate: 0.0,
            p50_us: 0.0,
            p99_us: 0.0,
        };
    }
    let us = |ns: u64| ns as f64 / 1e3;
    OpPoint {
        rate: if seconds > 0.0 {
            delta.len() as f64 / seconds
        } else {
            0.0
        },
        p50_us: us(delta.value_at_quantile(0.50)),
        p99_us: us(delta.value_at_quantile(0.99)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a tick's rate and percentiles are of the interval only, and that the ring never
    // holds more than RING_LEN ticks however long the run.
    #[test]
    fn ticks_are_intervals_and_the_ring_is_bounded() {
        let mut series = Series::new();
        let mut book = LatencyBook::new();
        book.record(OpKind::Claim, 1_000_000);
        series.push(0.0, (0, 0), book.clone());
        for _ in 0..10 {
            book.record(OpKind::Claim, 2_000);
        }
        let tick = series.push(2.0, (3, 9), book.clone());
        let claim = tick.ops[OpKind::ALL
            .iter()
            .position(|&k| k == OpKind::Claim)
            .unwrap_or(0)];
        assert_eq!(claim.rate, 5.0);
        assert!((claim.p99_us - 2.0).abs() < 0.01, "{claim:?}");
        for i in 0..RING_LEN + 50 {
            series.push(3.0 + i as f64, (3, 9), book.clone());
        }
        assert_eq!(series.len(), RING_LEN);
    }
}
