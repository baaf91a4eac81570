//! The per-run capture: where every operation's span and latency land.
//!
//! Each `Capture` owns its own `SdkTracerProvider` with an in-memory exporter: never the
//! global provider, because scenarios run side by side and each must judge only its own
//! evidence. Latencies go to HDR histograms, batched per agent so that the hot path never
//! waits on a lock shared by all agents.

/// HDR latency histograms per operation kind, and the batch buffer agents record into.
pub mod latency;
/// Owned, exporter-independent span records that evidence checks read.
pub mod record;
/// The per-agent span and latency writer used by the swarm.
pub mod recorder;
/// Seeded trace and span ids, so a deterministic run gives the same ids.
pub mod seeded_ids;
/// Mapping between run-relative nanoseconds and span timestamps.
pub mod time_base;

pub use latency::{LatencyBook, LatencySummary, OpKind};
pub use record::{AttrValue, SpanRecord, SpanStatus};
pub use recorder::AgentRecorder;
pub use time_base::TimeBase;

use std::sync::Mutex;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider};

use crate::error::{Error, Result};

/// Everything one run leaves behind: spans and latency histograms.
#[derive(Debug)]
pub struct Capture {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    tracer: SdkTracer,
    latencies: Mutex<LatencyBook>,
}

impl Capture {
    /// A fresh capture whose trace and span ids derive from `seed`.
    pub fn new(seed: u64) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .with_id_generator(seeded_ids::SeededIds::new(seed))
            .build();
        let tracer = provider.tracer("swarmspec");
        Self {
            provider,
            exporter,
            tracer,
            latencies: Mutex::new(LatencyBook::new()),
        }
    }

    /// The tracer that writes into this capture.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// Adds a batch of latency samples (called once per agent batch, never per operation).
    pub fn record_latencies(&self, samples: &[(OpKind, u64)]) {
        let mut book = self.lock_latencies();
        for &(op, latency_ns) in samples {
            book.record(op, latency_ns);
        }
    }

    /// A copy of the latency histograms recorded so far.
    pub fn latencies(&self) -> LatencyBook {
        self.lock_latencies().clone()
    }

    fn lock_latencies(&self) -> std::sync::MutexGuard<'_, LatencyBook> {
        // A poisoned lock only means a recording thread panicked; the histograms are still
        // whole (merging cannot leave them half-written), so keep using them.
        self.latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every span finished so far, in the order the exporter received them.
    pub fn spans(&self) -> Result<Vec<SpanRecord>> {
        self.provider
            .force_flush()
            .map_err(|error| Error::Capture(error.to_string()))?;
        let finished = self
            .exporter
            .get_finished_spans()
            .map_err(|error| Error::Capture(error.to_string()))?;
        Ok(finished.iter().map(SpanRecord::from_span_data).collect())
    }
}
