//! Trace and span ids drawn from a counter mixed with the seed: unique within a capture and
//! identical across runs that create spans in the same order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;

/// An `IdGenerator` that a seed makes reproducible. Clones share one counter, so the tracer
/// provider and a recorder writing straight into the span store draw from one sequence.
#[derive(Debug, Clone)]
pub struct SeededIds {
    seed: u64,
    counter: Arc<AtomicU64>,
}

impl SeededIds {
    /// Ids for a capture seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: Arc::new(AtomicU64::new(1)),
        }
    }

    fn next(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // splitmix64 is a bijection on u64, so distinct counters give distinct ids.
        let mut z = n.wrapping_add(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl SeededIds {
    /// The next trace id as a number (what `new_trace_id` returns).
    pub fn trace_id(&self) -> u128 {
        let high = self.next();
        let low = self.next();
        u128::from(high) << 64 | u128::from(low)
    }

    /// The next span id as a number (what `new_span_id` returns).
    pub fn span_id(&self) -> u64 {
        // Zero is the invalid span id; splitmix64 maps exactly one counter value to it.
        let id = self.next();
        if id == 0 {
            1
        } else {
            id
        }
    }
}

impl IdGenerator for SeededIds {
    fn new_trace_id(&self) -> TraceId {
        TraceId::from_bytes(self.trace_id().to_be_bytes())
    }

    fn new_span_id(&self) -> SpanId {
        SpanId::from_bytes(self.span_id().to_be_bytes())
    }
}
