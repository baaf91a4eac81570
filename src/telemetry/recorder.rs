//! `AgentRecorder`: what an agent uses to leave evidence. One per agent, owned by it, so
//! recording needs no synchronisation beyond the span store's own. At
//! `CaptureLevel::Histograms` it creates no span at all and only batches latency samples.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SdkTracer;

use super::{Capture, OpKind, TimeBase};

/// Latency samples an agent keeps before merging them into the capture's histograms: the
/// capture's lock is taken once per this many operations, never per operation.
pub const LATENCY_BATCH_LEN: usize = 128;

/// How one operation ended, for its span status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpResult<'a> {
    /// Served (whatever the outcome attribute says: a lost race is not an error).
    Served,
    /// A real error, described.
    Failed(&'a str),
}

/// Writes one agent's spans (under its `agent.session` span) and latency samples.
pub struct AgentRecorder {
    capture: Arc<Capture>,
    tracer: SdkTracer,
    time_base: TimeBase,
    /// `None` when the capture keeps no spans.
    session: Option<Context>,
    identity: Vec<KeyValue>,
    pending: Vec<(OpKind, u64)>,
    last_end_ns: u64,
    closed: bool,
}

impl AgentRecorder {
    /// Opens a session span named `session_name` at `start_ns`, under which every span this
    /// recorder writes is parented; `identity` goes on every one of them.
    pub fn open(
        capture: Arc<Capture>,
        time_base: TimeBase,
        session_name: &'static str,
        identity: Vec<KeyValue>,
        start_ns: u64,
    ) -> Self {
        let tracer = capture.tracer().clone();
        let keeps_spans = capture.level().keeps_spans();
        // Text values become reference-counted, so copying the identity onto every span
        // copies pointers, not strings.
        let identity: Vec<KeyValue> = identity.into_iter().map(shared_text).collect();
        let session = keeps_spans.then(|| {
            let span = tracer
                .span_builder(Cow::Borrowed(session_name))
                .with_kind(SpanKind::Internal)
                .with_start_time(time_base.at(start_ns))
                .with_attributes(identity.clone())
                .start(&tracer);
            Context::current_with_span(span)
        });
        Self {
            capture,
            tracer,
            time_base,
            session,
            identity,
            pending: Vec::with_capacity(LATENCY_BATCH_LEN),
            last_end_ns: start_ns,
            closed: false,
        }
    }

    /// Records an operation that ran from `start_ns` to `end_ns` with `attributes`.
    pub fn op(
        &mut self,
        op: OpKind,
        start_ns: u64,
        end_ns: u64,
        attributes: Vec<KeyValue>,
        result: OpResult<'_>,
    ) {
        self.event(op.span_name(), start_ns, end_ns, attributes, result);
        self.pending.push((op, end_ns.saturating_sub(start_ns)));
        if self.pending.len() >= LATENCY_BATCH_LEN {
            self.flush_latencies();
        }
    }

    /// Records a span that is not a timed operation (e.g. `circuit.transition`).
    pub fn event(
        &mut self,
        name: &'static str,
        start_ns: u64,
        end_ns: u64,
        attributes: Vec<KeyValue>,
        result: OpResult<'_>,
    ) {
        self.last_end_ns = self.last_end_ns.max(end_ns);
        let Some(session) = &self.session else {
            return;
        };
        let mut all = Vec::with_capacity(self.identity.len() + attributes.len());
        all.extend(self.identity.iter().cloned());
        all.extend(attributes);
        let mut span = self
            .tracer
            .span_builder(Cow::Borrowed(name))
            .with_kind(SpanKind::Internal)
            .with_start_time(self.time_base.at(start_ns))
            .with_attributes(all)
            .start_with_context(&self.tracer, session);
        if let OpResult::Failed(description) = result {
            span.set_status(Status::error(description.to_owned()));
        }
        span.end_with_timestamp(self.time_base.at(end_ns));
    }

    /// Whether spans are kept: callers skip building attributes nobody will read.
    pub fn keeps_spans(&self) -> bool {
        self.session.is_some()
    }

    fn flush_latencies(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.capture.record_latencies(&self.pending);
        self.pending.clear();
    }

    /// Ends the session span at `end_ns` and hands over the remaining latency samples.
    pub fn close(mut self, end_ns: u64) {
        self.closed = true;
        self.flush_latencies();
        if let Some(session) = &self.session {
            session.span().end_with_timestamp(self.time_base.at(end_ns));
        }
    }
}

impl Drop for AgentRecorder {
    fn drop(&mut self) {
        // An agent that is dropped without `close` (a panic, a crash fault) must not take
        // its samples with it.
        self.flush_latencies();
        if let (false, Some(session)) = (self.closed, &self.session) {
            // Never leave a session span open: end it where its last operation ended.
            let end = self.time_base.at(self.last_end_ns);
            session.span().end_with_timestamp(end);
        }
    }
}

/// `kv` with a text value held behind an `Arc`, so cloning it does not allocate.
fn shared_text(kv: KeyValue) -> KeyValue {
    match &kv.value {
        Value::String(text) => {
            let shared: std::sync::Arc<str> = std::sync::Arc::from(text.as_str());
            KeyValue::new(kv.key, Value::String(StringValue::from(shared)))
        }
        _ => kv,
    }
}
