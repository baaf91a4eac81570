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

/// The exporter's HTTP client: HTTP/1.1 over `std::net`, with a deadline on every request.
pub mod client;
/// A loopback OTLP/HTTP receiver that decodes what it is sent (for tests and specs).
pub mod receiver;
/// `ExportReport`: what became of the spans handed to an export.
pub mod report;

pub use client::StdHttpClient;
pub use receiver::Receiver;
pub use report::ExportReport;

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

/// Default budget for one export (connect, send, answer, and the exporter's retries).
pub const EXPORT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// Spans waiting for export per capture; past this the batch processor drops (and the
/// report counts) them rather than let a slow collector grow memory without bound.
pub const QUEUE_SPANS_MAX: usize = 65_536;

/// Spans per OTLP request: large enough to keep up with a throughput run over loopback,
/// small enough that a request stays a few megabytes.
pub const BATCH_SPANS_MAX: usize = 4_096;

/// Where spans go and how long to wait for the collector.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The collector's base URL (`http://127.0.0.1:4318`), as in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; spans go to its `/v1/traces`.
    pub endpoint: String,
    /// Budget for one export, retries included.
    pub timeout: Duration,
}

impl OtlpConfig {
    /// Export to `endpoint` with the default timeout.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            timeout: EXPORT_TIMEOUT_DEFAULT,
        }
    }
}

/// The traces URL for a collector base URL: `/v1/traces` is appended unless already there.
pub fn traces_url(endpoint: &str) -> Result<String> {
    let invalid = |problem: String| Error::Export {
        endpoint: endpoint.to_owned(),
        problem,
    };
    let base = endpoint.trim().trim_end_matches('/');
    let url = if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e| invalid(format!("not a URL ({e}): expected http://HOST:PORT")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "https is not supported (this build has no TLS): use the collector's plain \
                 OTLP/HTTP port, e.g. http://127.0.0.1:4318"
                    .into(),
            ))
        }
        _ => return Err(invalid("expected http://HOST:PORT".into())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("the URL names no host".into()));
    }
    Ok(url)
}

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
    /// Checks the endpoint (an `http://` URL with a host); nothing is sent yet.
    pub fn new(config: OtlpConfig) -> Result<Self> {
        let traces_url = traces_url(&config.endpoint)?;
        Ok(Self {
            state: Arc::new(TargetState {
                config,
                traces_url,
                down: Mutex::new(None),
                totals: Tally::default(),
            }),
        })
    }

    /// The URL spans are posted to.
    pub fn traces_url(&self) -> &str {
        &self.state.traces_url
    }

    /// A new export for one capture: pass the processor to `Capture::with_exports`, and call
    /// `OtlpExport::finish` with that capture once the run is over.
    pub fn start(&self) -> Result<(OtlpExport, BoxedProcessor)> {
        let state = &self.state;
        let client = StdHttpClient::new(state.config.timeout);
        let last_failure = client.last_failure();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
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
        let tally = Arc::new(Tally::default());
        let tracked = Tracked {
            inner: exporter,
            last_failure,
            tally: Arc::clone(&tally),
            target: Arc::clone(state),
        };
        let batches = BatchConfigBuilder::default()
            .with_max_queue_size(QUEUE_SPANS_MAX)
            .with_max_export_batch_size(BATCH_SPANS_MAX)
            .build();
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

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    // A base URL gets the traces path once; https and host-less URLs are refused up front.
    #[test]
    fn endpoints_become_traces_urls_or_clear_errors() {
        let url = |text: &str| traces_url(text).map_err(|e| e.to_string());
        assert_eq!(
            url("http://127.0.0.1:4318").as_deref(),
            Ok("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            url("http://collector:4318/v1/traces/").as_deref(),
            Ok("http://collector:4318/v1/traces")
        );
        assert!(url("https://collector:4318")
            .unwrap_err()
            .contains("no TLS"));
        let bare = url("collector:4318").unwrap_err();
        assert!(bare.contains("http://"), "{bare}");
        assert!(url("http://").is_err());
    }
}
