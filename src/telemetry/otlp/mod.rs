//! OTLP export: a copy of every span, sent to a collector over OTLP/HTTP (protobuf).
//!
//! The export is an extra span processor beside the capture's own store
//! (`Capture::with_exports`): evidence is never judged from what a collector received, so a
//! collector that is slow, down or lossy can cost a run its copy, never its verdicts. What it
//! does cost is never silent: every span handed to the export is counted as sent, failed or
//! dropped, and `OtlpExport::finish` returns that tally as an `ExportReport` for the caller
//! to print.
//!
//! One `OtlpTarget` serves every capture of a process (each scenario of a suite has its own
//! capture). The first batch that fails, after the exporter's own retries, marks the target
//! down, and later batches are counted as failed without a network attempt: a dead
//! collector costs one export timeout per process, not one per batch or per scenario.

/// The exporter's HTTP client: HTTP/1.1 over `std::net` (TLS by rustls), with a deadline
/// on every request.
pub mod client;
/// `OtlpConfig`: URL, deadline, headers, compression, trusted certificates, resource.
pub mod config;
/// Decoding a traces request into span records.
pub mod decode;
/// A loopback OTLP/HTTP receiver that decodes what it is sent (for tests and specs).
pub mod receiver;
/// `ExportReport`: what became of the spans handed to an export.
pub mod report;
/// The Resource on every exported span: service, process, run.
pub mod resource;
/// A collector's HTTP/1.1 response, parsed and checked for truncation.
mod response;
/// `OtlpConfig::resolve`: the standard `OTEL_EXPORTER_OTLP_*` variables and the flags.
pub mod settings;
/// rustls client (and test server) configurations.
pub mod tls;

pub use client::{StdHttpClient, Transport};
pub use config::{Compression, Endpoint, Headers, OtlpConfig, EXPORT_TIMEOUT_DEFAULT};
pub use receiver::Receiver;
pub use report::ExportReport;
pub use resource::{ResourceSettings, RunAttributes};
pub use settings::OtlpFlags;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanExporter, SpanProcessor,
};
use opentelemetry_sdk::Resource;

use super::{BoxedProcessor, Capture};
use crate::error::{Error, Result};

/// Spans waiting for export per capture; past this the batch processor drops (and the
/// report counts) them rather than let a slow collector grow memory without bound.
pub const QUEUE_SPANS_MAX: usize = 65_536;

/// Spans per OTLP request: large enough to keep up with a throughput run over loopback,
/// small enough that a request stays a few megabytes.
pub const BATCH_SPANS_MAX: usize = 4_096;

/// Spans handed to an export and what became of them.
#[derive(Debug, Default)]
struct Tally {
    ended: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    fn add(counter: &AtomicU64, count: usize) {
        counter.fetch_add(count as u64, Ordering::Relaxed);
    }
}

/// State shared by every export to one collector.
#[derive(Debug)]
struct TargetState {
    config: OtlpConfig,
    traces_url: String,
    /// The client's settings, shared by every export (TLS roots are loaded once).
    transport: Transport,
    /// The first failure, once a batch has failed: later batches are not attempted.
    down: Mutex<Option<String>>,
    totals: Tally,
}

impl TargetState {
    fn down(&self) -> Option<String> {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn mark_down(&self, reason: &str) {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| reason.to_owned());
    }
}

/// A collector every capture of this process exports to.
#[derive(Debug, Clone)]
pub struct OtlpTarget {
    state: Arc<TargetState>,
}

impl OtlpTarget {
    /// Checks the endpoint and, for https, loads the trusted certificates; nothing is sent.
    pub fn new(config: OtlpConfig) -> Result<Self> {
        let traces_url = config.traces_url()?;
        let tls = if config.is_https() {
            let certificates = match &config.certificate {
                Some((setting, path)) => Some(tls::read_certificates(setting, path)?),
                None => None,
            };
            Some(tls::client_config(certificates)?)
        } else {
            None
        };
        let transport = Transport {
            timeout: config.timeout,
            headers: config.headers.clone(),
            compression: config.compression,
            tls,
        };
        Ok(Self {
            state: Arc::new(TargetState {
                config,
                traces_url,
                transport,
                down: Mutex::new(None),
                totals: Tally::default(),
            }),
        })
    }

    /// The URL spans are posted to.
    pub fn traces_url(&self) -> &str {
        &self.state.traces_url
    }

    /// The resource a capture of `run` exports with (also what its span file records).
    pub fn resource(&self, run: Option<&RunAttributes>) -> Resource {
        self.state.config.resource.resource(run)
    }

    /// A new export for one capture of `run`: pass the processor to `Capture::with_exports`,
    /// and call `OtlpExport::finish` with that capture once the run is over.
    pub fn start(&self, run: Option<&RunAttributes>) -> Result<(OtlpExport, BoxedProcessor)> {
        let state = &self.state;
        let client = StdHttpClient::new(state.transport.clone());
        let last_failure = client.last_failure();
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(state.traces_url.clone())
            .with_timeout(state.config.timeout)
            .with_http_client(client)
            .build()
            .map_err(|e| Error::Export {
                endpoint: state.traces_url.clone(),
                problem: e.to_string(),
            })?;
        // Set here, once: the provider would hand over its own resource, which knows
        // neither the run nor the environment's checked settings (see `Tracked`).
        exporter.set_resource(&self.resource(run));
        let tally = Arc::new(Tally::default());
        let tracked = Tracked {
            inner: exporter,
            last_failure,
            tally: Arc::clone(&tally),
            target: Arc::clone(state),
        };
        let mut batches = BatchConfigBuilder::default()
            .with_max_queue_size(QUEUE_SPANS_MAX)
            .with_max_export_batch_size(BATCH_SPANS_MAX);
        if let Some(delay) = state.config.batch_delay {
            batches = batches.with_scheduled_delay(delay);
        }
        let batches = batches.build();
        let processor = Counted {
            inner: BatchSpanProcessor::new(tracked, batches),
            tally: Arc::clone(&tally),
            target: Arc::clone(state),
        };
        let export = OtlpExport {
            target: self.clone(),
            tally,
        };
        Ok((export, Box::new(processor)))
    }

    /// Every export to this collector so far, summed (for a suite's closing line).
    pub fn totals(&self) -> ExportReport {
        report(&self.state, &self.state.totals, None)
    }
}

/// One capture's export: counts what happened to its spans.
#[derive(Debug)]
pub struct OtlpExport {
    target: OtlpTarget,
    tally: Arc<Tally>,
}

impl OtlpExport {
    /// Flushes `capture` (the capture this export's processor was given to), waiting for the
    /// collector within the SDK's flush timeout, and says what became of every span.
    pub fn finish(&self, capture: &Capture) -> ExportReport {
        let flushed = capture.flush();
        let mut report = report(&self.target.state, &self.tally, None);
        // A flush fails whenever its last batch failed, which `collector_error` already
        // says; its error adds news only when spans are left unaccounted (a timeout).
        if report.spans_unaccounted > 0 {
            report.flush_error = flushed.err().map(|e| e.to_string());
        }
        report
    }
}

fn report(state: &TargetState, tally: &Tally, flush_error: Option<String>) -> ExportReport {
    let ended = tally.ended.load(Ordering::Relaxed);
    let sent = tally.sent.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    ExportReport {
        traces_url: state.traces_url.clone(),
        spans_ended: ended,
        spans_sent: sent,
        spans_failed: failed,
        spans_unaccounted: ended.saturating_sub(sent + failed),
        collector_error: state.down(),
        flush_error,
    }
}

/// The OTLP exporter, counting each batch's fate and refusing batches once the target is down.
#[derive(Debug)]
struct Tracked {
    inner: opentelemetry_otlp::SpanExporter,
    /// The client's account of its last failure, richer than the exporter's error.
    last_failure: Arc<Mutex<Option<String>>>,
    tally: Arc<Tally>,
    target: Arc<TargetState>,
}

impl SpanExporter for Tracked {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        let outcome = match self.target.down() {
            Some(reason) => Err(OTelSdkError::InternalFailure(format!(
                "not sent: the collector failed earlier ({reason})"
            ))),
            None => self.inner.export(batch).await,
        };
        let counter = |tally: &Tally| {
            if outcome.is_ok() {
                Tally::add(&tally.sent, count);
            } else {
                Tally::add(&tally.failed, count);
            }
        };
        counter(&self.tally);
        counter(&self.target.totals);
        if let Err(error) = &outcome {
            let detail = self
                .last_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            self.target.mark_down(&match detail {
                Some(detail) => format!("{error} ({detail})"),
                None => error.to_string(),
            });
        }
        outcome
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    /// Ignored: the exporter was given the run's resource when the export started, and the
    /// tracer provider's (SDK defaults, `unknown_service` unless told) must not replace it.
    fn set_resource(&mut self, _resource: &Resource) {}
}

/// The batch processor, counting the spans it is handed (the processor drops silently when
/// its queue is full; the count makes that loss visible).
#[derive(Debug)]
struct Counted {
    inner: BatchSpanProcessor,
    tally: Arc<Tally>,
    target: Arc<TargetState>,
}

impl SpanProcessor for Counted {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            Tally::add(&self.tally.ended, 1);
            Tally::add(&self.target.totals.ended, 1);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
