//! The per-run capture: where every operation's span and latency land.
//!
//! Each `Capture` owns its own `SdkTracerProvider` with a span store (the compact one by
//! default, see `CaptureLevel`): never the global provider, because scenarios run side by side and each must judge only its own
//! evidence. Latencies go to HDR histograms, batched per agent so that the hot path never
//! waits on a lock shared by all agents.

/// The compact span store: a span processor (and a direct sink) keeping each span in about
/// 100 bytes.
pub mod compact;
/// The session of a recorder writing straight into the compact store.
mod direct_session;
/// The trace and root span of each work item, derived from its id so every process agrees.
pub mod item_trace;
/// HDR latency histograms per operation kind, and the batch buffer agents record into.
pub mod latency;
/// OTLP/HTTP export of a capture's spans to a collector, and a loopback receiver for tests.
pub mod otlp;
/// Owned, exporter-independent span records that evidence checks read.
pub mod record;
/// The per-agent span and latency writer used by the swarm.
pub mod recorder;
/// Seeded trace and span ids, so a deterministic run gives the same ids.
pub mod seeded_ids;
/// An export writing every finished span to a file as a span-log line, flushed per span.
pub mod span_file;
/// Mapping between run-relative nanoseconds and span timestamps.
pub mod time_base;

pub use compact::CompactStore;
pub use item_trace::{item_root, SpanParent};
pub use latency::{LatencyBook, LatencySummary, OpKind};
pub use record::{AttrKey, AttrValue, SpanRecord, SpanStatus};
pub use recorder::AgentRecorder;
pub use span_file::SpanFile;
pub use time_base::TimeBase;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SdkTracer, SdkTracerProvider, SpanProcessor,
};

use crate::error::{Error, Result};

/// How much of each operation a capture keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum CaptureLevel {
    /// Latency histograms only: no span is created. For throughput figures, where the
    /// evidence checks that need spans are not asked.
    Histograms,
    /// Every span, kept in the `CompactStore` (interned, integer times): what evidence
    /// checks read by default.
    #[default]
    Spans,
    /// Every span, kept as the SDK's `SpanData` in its in-memory exporter (about 900 bytes a
    /// span): the reference the compact store is measured against.
    SpanData,
}

impl CaptureLevel {
    /// Whether spans are recorded at this level.
    pub fn keeps_spans(self) -> bool {
        self != CaptureLevel::Histograms
    }
}

/// A span processor chosen at run time (an export added with `Capture::with_exports`).
pub type BoxedProcessor = Box<dyn SpanProcessor>;

/// Lets a boxed processor be registered with the SDK, which takes processors by value.
#[derive(Debug)]
struct Forward(BoxedProcessor);

impl SpanProcessor for Forward {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

/// Where a capture's finished spans go.
#[derive(Debug)]
enum SpanSink {
    None,
    Compact(CompactStore),
    SpanData(InMemorySpanExporter),
}

/// Everything one run leaves behind: spans and latency histograms.
#[derive(Debug)]
pub struct Capture {
    level: CaptureLevel,
    provider: SdkTracerProvider,
    sink: SpanSink,
    /// The provider's id generator (clones share its counter).
    ids: seeded_ids::SeededIds,
    /// Set when recorders may write straight into the compact store: the level keeps spans
    /// there and no export needs to see SDK spans.
    direct: Option<CompactStore>,
    tracer: SdkTracer,
    latencies: Mutex<LatencyBook>,
    /// Bumped by a live view each time it samples the histograms: recorders holding
    /// samples back (they hand them over in batches) hand them over at their next
    /// operation, so a swarm of many agents with few operations each still shows its rates
    /// while it runs. Nothing bumps it unless someone watches.
    latency_requests: RequestCount,
}

/// A counter on a cache line of its own: every operation of every agent reads it, and the
/// histogram lock beside it is written by each batch handed over, so sharing a line would
/// make each of those writes cost every core a miss.
#[derive(Debug, Default)]
#[repr(align(64))]
struct RequestCount(AtomicU64);

impl Capture {
    /// A fresh capture of every span (compact store) whose trace and span ids derive from
    /// `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_level(seed, CaptureLevel::default())
    }

    /// A fresh capture keeping what `level` says.
    pub fn with_level(seed: u64, level: CaptureLevel) -> Self {
        Self::with_exports(seed, level, Vec::new())
    }

    /// A capture keeping what `level` says that also hands every finished span to each of
    /// `exports` (a span file, an OTLP exporter): evidence is still judged from the capture's
    /// own store, the exports are copies for other readers. At `CaptureLevel::Histograms`
    /// no span exists, so the exports receive nothing.
    pub fn with_exports(seed: u64, level: CaptureLevel, exports: Vec<BoxedProcessor>) -> Self {
        let ids = seeded_ids::SeededIds::new(seed);
        let exported = !exports.is_empty();
        // No resource here: each export carries its own (`otlp::resource`), built from the
        // checked environment and the run, so the provider's would only be SDK defaults.
        let mut builder = SdkTracerProvider::builder().with_id_generator(ids.clone());
        for export in exports {
            builder = builder.with_span_processor(Forward(export));
        }
        let (builder, sink) = match level {
            // Nothing is sampled, so spans started directly on the tracer cost nearly nothing.
            CaptureLevel::Histograms => (builder.with_sampler(Sampler::AlwaysOff), SpanSink::None),
            CaptureLevel::Spans => {
                let store = CompactStore::new();
                (
                    builder.with_span_processor(store.clone()),
                    SpanSink::Compact(store),
                )
            }
            CaptureLevel::SpanData => {
                let exporter = InMemorySpanExporter::default();
                (
                    builder.with_simple_exporter(exporter.clone()),
                    SpanSink::SpanData(exporter),
                )
            }
        };
        let provider = builder.build();
        let tracer = provider.tracer("swarmspec");
        let direct = match &sink {
            SpanSink::Compact(store) if !exported => Some(store.clone()),
            _ => None,
        };
        Self {
            level,
            provider,
            sink,
            ids,
            direct,
            tracer,
            latencies: Mutex::new(LatencyBook::new()),
            latency_requests: RequestCount::default(),
        }
    }

    /// Pushes every span ended so far through every processor, exports included (call it
    /// before reading an export's output, or before the process exits).
    pub fn flush(&self) -> Result<()> {
        self.provider
            .force_flush()
            .map_err(|error| Error::Flush(error.to_string()))
    }

    /// What this capture keeps.
    pub fn level(&self) -> CaptureLevel {
        self.level
    }

    /// Bytes the compact span store holds, if this capture uses one.
    pub fn retained_span_bytes(&self) -> Option<usize> {
        match &self.sink {
            SpanSink::Compact(store) => Some(store.retained_bytes()),
            SpanSink::None | SpanSink::SpanData(_) => None,
        }
    }

    /// The compact store recorders may write into directly, bypassing the SDK (only when
    /// spans are kept there and nothing else listens), with the ids to stamp spans with.
    pub fn direct_store(&self) -> Option<(&CompactStore, &seeded_ids::SeededIds)> {
        self.direct.as_ref().map(|store| (store, &self.ids))
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

    /// Asks every recorder to hand over the samples it holds back, at its next operation
    /// (a live view calls this as it samples).
    pub fn request_latencies(&self) {
        self.latency_requests.0.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times `request_latencies` was called: a recorder that saw a smaller number
    /// last hands its samples over.
    pub fn latency_requests(&self) -> u64 {
        self.latency_requests.0.load(Ordering::Relaxed)
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

    /// The compact store this capture keeps its spans in, if it uses one (the live checker
    /// reads it in steps).
    pub fn compact_store(&self) -> Option<&CompactStore> {
        match &self.sink {
            SpanSink::Compact(store) => Some(store),
            _ => None,
        }
    }

    /// How many spans the capture holds, without converting them.
    pub fn span_count(&self) -> Result<usize> {
        match &self.sink {
            SpanSink::None => Ok(0),
            SpanSink::Compact(store) => Ok(store.len()),
            SpanSink::SpanData(exporter) => exporter
                .get_finished_spans()
                .map(|spans| spans.len())
                .map_err(|error| Error::Capture(error.to_string())),
        }
    }

    /// Every span finished so far, in the order the spans ended (none at
    /// `CaptureLevel::Histograms`).
    pub fn spans(&self) -> Result<Vec<SpanRecord>> {
        // No provider-wide flush here: both stores keep each span as it ends, and a flush
        // would also wait on the exports, whose failures (a collector down) must never cost
        // the run its evidence. `flush` is the call that reaches the exports.
        match &self.sink {
            SpanSink::None => Ok(Vec::new()),
            SpanSink::Compact(store) => store.records(),
            SpanSink::SpanData(exporter) => {
                let finished = exporter
                    .get_finished_spans()
                    .map_err(|error| Error::Capture(error.to_string()))?;
                Ok(finished.iter().map(SpanRecord::from_span_data).collect())
            }
        }
    }
}
