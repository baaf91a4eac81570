//! Trace and span ids drawn from a counter mixed with the seed: unique within a capture and
//! identical across runs that create spans in the same order.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;

/// An `IdGenerator` that a seed makes reproducible.
#[derive(Debug)]
pub struct SeededIds {
    seed: u64,
    counter: AtomicU64,
}

impl SeededIds {
    /// Ids for a capture seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(1),
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

impl IdGenerator for SeededIds {
    fn new_trace_id(&self) -> TraceId {
        let high = self.next();
        let low = self.next();
        TraceId::from_bytes((u128::from(high) << 64 | u128::from(low)).to_be_bytes())
    }

    fn new_span_id(&self) -> SpanId {
        // Zero is the invalid span id; splitmix64 maps exactly one counter value to it.
        let id = self.next();
        SpanId::from_bytes((if id == 0 { 1 } else { id }).to_be_bytes())
    }
}
