//! Trace and span ids drawn from a counter mixed with the seed: unique within a capture and
//! identical across runs that create spans in the same order.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;

thread_local! {
    /// Ids the next root span started on this thread must have (see `forcing`).
    static FORCED: Cell<Option<(u64, u128)>> = const { Cell::new(None) };
}

/// Runs `start` (which starts one root span through the SDK) so that the span gets
/// `span_id` and `trace_id` instead of drawn ones, without advancing the counter: a work
/// item's root span has ids every process derives from the item (`item_trace`), and the
/// SDK offers no way to name a span's ids but its id generator.
pub fn forcing<R>(span_id: u64, trace_id: u128, start: impl FnOnce() -> R) -> R {
    FORCED.with(|forced| forced.set(Some((span_id, trace_id))));
    let started = start();
    FORCED.with(|forced| forced.set(None));
    started
}

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
        // The SDK draws a root's span id first, then its trace id: the forced pair ends here.
        let forced = FORCED.with(|forced| forced.take());
        let id = forced.map_or_else(|| self.trace_id(), |(_, trace)| trace);
        TraceId::from_bytes(id.to_be_bytes())
    }

    fn new_span_id(&self) -> SpanId {
        let forced = FORCED.with(Cell::get);
        let id = forced.map_or_else(|| self.span_id(), |(span, _)| span);
        SpanId::from_bytes(id.to_be_bytes())
    }
}
