//! `AgentRecorder`: what an agent uses to leave evidence. One per agent, owned by it, so
//! recording needs no synchronisation beyond the span store's own. At
//! `CaptureLevel::Histograms` it creates no span at all and only batches latency samples.
//!
//! Where the capture allows it (`Capture::direct_store`), spans skip the SDK: the recorder
//! draws the same seeded ids the SDK would, in the same order (span id, then trace id for a
//! root), and hands the compact store the finished span. The agent's identity is then kept
//! once per session (a store group), not copied onto every span; records read back the same.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SdkTracer;

use super::compact::{DirectSpan, GroupId};
use super::record::unix_ns;
use super::seeded_ids::SeededIds;
use super::{Capture, CompactStore, OpKind, TimeBase};

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

/// Where a recorder's spans go.
enum Sink {
    /// Nowhere: the capture keeps no spans.
    None,
    /// Through the SDK, as children of the session span in this context.
    Sdk(Context),
    /// Straight into the compact store.
    Direct(DirectSession),
}

/// A session span being written straight into the compact store.
struct DirectSession {
    store: CompactStore,
    ids: SeededIds,
    name: &'static str,
    span_id: u64,
    start_unix_ns: u64,
    /// Run time 0 in ns since the Unix epoch: adding a run time to it gives exactly what
    /// `unix_ns(time_base.at(t))` would, without a `SystemTime` round trip per span.
    epoch_unix_ns: u64,
    /// The session span's own group (root: no parent).
    root: GroupId,
    /// Its children's group (the session span as parent).
    children: GroupId,
}

/// Writes one agent's spans (under its `agent.session` span) and latency samples.
pub struct AgentRecorder {
    capture: Arc<Capture>,
    tracer: SdkTracer,
    time_base: TimeBase,
    sink: Sink,
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
        // Text values become reference-counted, so copying the identity onto every span
        // copies pointers, not strings.
        let identity: Vec<KeyValue> = identity.into_iter().map(shared_text).collect();
        let sink = if let Some((store, ids)) = capture.direct_store() {
            // The order the SDK draws a root span's ids in: span, then trace.
            let span_id = ids.span_id();
            let trace_id = ids.trace_id();
            let shared: Arc<[KeyValue]> = identity.as_slice().into();
            Sink::Direct(DirectSession {
                root: store.group(trace_id, 0, Arc::clone(&shared)),
                children: store.group(trace_id, span_id, shared),
                store: store.clone(),
                ids: ids.clone(),
                name: session_name,
                span_id,
                start_unix_ns: unix_ns(time_base.at(start_ns)),
                epoch_unix_ns: time_base.epoch_unix_ns(),
            })
        } else if capture.level().keeps_spans() {
            let span = tracer
                .span_builder(Cow::Borrowed(session_name))
                .with_kind(SpanKind::Internal)
                .with_start_time(time_base.at(start_ns))
                .with_attributes(identity.clone())
                .start(&tracer);
            Sink::Sdk(Context::current_with_span(span))
        } else {
            Sink::None
        };
        Self {
            capture,
            tracer,
            time_base,
            // Only the SDK path copies the identity onto spans; the store keeps its own.
            identity: if matches!(sink, Sink::Direct(_)) {
                Vec::new()
            } else {
                identity
            },
            sink,
            pending: Vec::new(),
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
        self.op_since(op, start_ns, start_ns, end_ns, attributes, result);
    }

    /// Records an operation whose span runs from `start_ns` to `end_ns` but whose latency
    /// counts from `origin_ns`, its intended start under open-loop load: the span says
    /// when the call really ran (the history checks need that), the histogram how long
    /// the caller waited for it.
    pub fn op_since(
        &mut self,
        op: OpKind,
        origin_ns: u64,
        start_ns: u64,
        end_ns: u64,
        attributes: Vec<KeyValue>,
        result: OpResult<'_>,
    ) {
        debug_assert!(
            origin_ns <= start_ns,
            "an intended start after the real one"
        );
        self.event(op.span_name(), start_ns, end_ns, attributes, result);
        self.pending
            .push((op, end_ns.saturating_sub(origin_ns.min(start_ns))));
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
        let session = match &self.sink {
            Sink::None => return,
            Sink::Direct(direct) => {
                direct.store.record(&DirectSpan {
                    span_id: direct.ids.span_id(),
                    name,
                    start_unix_ns: direct.epoch_unix_ns.saturating_add(start_ns),
                    end_unix_ns: direct.epoch_unix_ns.saturating_add(end_ns),
                    group: direct.children,
                    attributes: &attributes,
                    error: match result {
                        OpResult::Served => None,
                        OpResult::Failed(description) => Some(description),
                    },
                });
                return;
            }
            Sink::Sdk(session) => session,
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
        !matches!(self.sink, Sink::None)
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
        self.end_session(end_ns);
    }

    fn end_session(&self, end_ns: u64) {
        match &self.sink {
            Sink::None => {}
            Sink::Sdk(session) => session.span().end_with_timestamp(self.time_base.at(end_ns)),
            Sink::Direct(direct) => direct.store.record(&DirectSpan {
                span_id: direct.span_id,
                name: direct.name,
                start_unix_ns: direct.start_unix_ns,
                end_unix_ns: direct.epoch_unix_ns.saturating_add(end_ns),
                group: direct.root,
                attributes: &[],
                error: None,
            }),
        }
    }
}

impl Drop for AgentRecorder {
    fn drop(&mut self) {
        // An agent that is dropped without `close` (a panic, a crash fault) must not take
        // its samples with it.
        self.flush_latencies();
        if !self.closed {
            // Never leave a session span open: end it where its last operation ended.
            self.end_session(self.last_end_ns);
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
