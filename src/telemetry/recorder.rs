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

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SdkTracer;

use super::compact::DirectSpan;
use super::direct_session::DirectSession;
use super::item_trace::SpanParent;
use super::record::unix_ns;
use super::seeded_ids;
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

/// Where in the trace forest a span goes.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A child of the recorder's session span.
    Session,
    /// A child of another span (a work item's root).
    Under(SpanParent),
    /// A root span with exactly these ids (a work item's root).
    Root(SpanParent),
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

/// An SDK context whose span is `parent`, so spans started in it are its children.
fn context_of(parent: SpanParent) -> Context {
    let span_context = SpanContext::new(
        TraceId::from_bytes(parent.trace_id.to_be_bytes()),
        SpanId::from_bytes(parent.span_id.to_be_bytes()),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span_context)
}

/// Writes one agent's spans (under its `agent.session` span) and latency samples.
pub struct AgentRecorder {
    capture: Arc<Capture>,
    tracer: SdkTracer,
    time_base: TimeBase,
    sink: Sink,
    identity: Vec<KeyValue>,
    pending: Vec<(OpKind, u64)>,
    /// `Capture::latency_requests` when the samples were last handed over.
    requests_seen: u64,
    last_end_ns: u64,
    closed: bool,
}

impl AgentRecorder {
    /// Opens a session span named `session_name` at `start_ns`, a root of its own trace,
    /// under which the spans this recorder writes are parented; `identity` goes on every
    /// one of them.
    pub fn open(
        capture: Arc<Capture>,
        time_base: TimeBase,
        session_name: &'static str,
        identity: Vec<KeyValue>,
        start_ns: u64,
    ) -> Self {
        Self::open_under(capture, time_base, session_name, identity, start_ns, None)
    }

    /// `open`, with the session span a child of `parent` when one is given (an agent's
    /// session under its `swarm.run`).
    pub fn open_under(
        capture: Arc<Capture>,
        time_base: TimeBase,
        session_name: &'static str,
        identity: Vec<KeyValue>,
        start_ns: u64,
        parent: Option<SpanParent>,
    ) -> Self {
        let tracer = capture.tracer().clone();
        // Text values become reference-counted, so copying the identity onto every span
        // copies pointers, not strings.
        let identity: Vec<KeyValue> = identity.into_iter().map(shared_text).collect();
        let sink = if let Some((store, ids)) = capture.direct_store() {
            // The order the SDK draws ids in: span, then trace for a root only.
            let span_id = ids.span_id();
            let (trace_id, parent_span_id) = match parent {
                Some(parent) => (parent.trace_id, parent.span_id),
                None => (ids.trace_id(), 0),
            };
            let shared: Arc<[KeyValue]> = identity.as_slice().into();
            Sink::Direct(DirectSession {
                root: store.group(trace_id, parent_span_id, Arc::clone(&shared)),
                children: store.group(trace_id, span_id, Arc::clone(&shared)),
                trace_id,
                identity: shared,
                last_group: None,
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
                .start_with_context(&tracer, &parent.map_or_else(Context::new, context_of));
            Sink::Sdk(Context::new().with_span(span))
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
            requests_seen: 0,
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
        self.event_in(
            Place::Session,
            op.span_name(),
            start_ns,
            end_ns,
            attributes,
            result,
        );
        self.count(op, origin_ns, start_ns, end_ns);
    }

    /// `op_since` for an operation on a work item: its span is a child of the item's root
    /// (`item_trace::item_root`) instead of the session, so the item's story is one trace.
    #[allow(clippy::too_many_arguments)]
    pub fn item_op_since(
        &mut self,
        item: SpanParent,
        op: OpKind,
        origin_ns: u64,
        start_ns: u64,
        end_ns: u64,
        attributes: Vec<KeyValue>,
        result: OpResult<'_>,
    ) {
        self.event_in(
            Place::Under(item),
            op.span_name(),
            start_ns,
            end_ns,
            attributes,
            result,
        );
        self.count(op, origin_ns, start_ns, end_ns);
    }

    /// A span about a work item that is not a timed operation (a failure mark).
    pub fn item_event(
        &mut self,
        item: SpanParent,
        name: &'static str,
        at_ns: u64,
        attributes: Vec<KeyValue>,
    ) {
        self.event_in(
            Place::Under(item),
            name,
            at_ns,
            at_ns,
            attributes,
            OpResult::Served,
        );
    }

    /// Records the operation that creates a work item as the root of the item's trace,
    /// with exactly the ids in `root`.
    pub fn item_root_op(
        &mut self,
        root: SpanParent,
        op: OpKind,
        start_ns: u64,
        end_ns: u64,
        attributes: Vec<KeyValue>,
    ) {
        self.event_in(
            Place::Root(root),
            op.span_name(),
            start_ns,
            end_ns,
            attributes,
            OpResult::Served,
        );
        self.count(op, start_ns, start_ns, end_ns);
    }

    /// The latency sample of an operation, batched.
    fn count(&mut self, op: OpKind, origin_ns: u64, start_ns: u64, end_ns: u64) {
        self.pending
            .push((op, end_ns.saturating_sub(origin_ns.min(start_ns))));
        let requests = self.capture.latency_requests();
        if self.pending.len() >= LATENCY_BATCH_LEN || requests != self.requests_seen {
            self.requests_seen = requests;
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
        self.event_in(Place::Session, name, start_ns, end_ns, attributes, result);
    }

    fn event_in(
        &mut self,
        place: Place,
        name: &'static str,
        start_ns: u64,
        end_ns: u64,
        attributes: Vec<KeyValue>,
        result: OpResult<'_>,
    ) {
        self.last_end_ns = self.last_end_ns.max(end_ns);
        let session = match &mut self.sink {
            Sink::None => return,
            Sink::Direct(direct) => {
                let (span_id, group) = match place {
                    Place::Session => (direct.ids.span_id(), direct.children),
                    Place::Under(parent) => (
                        direct.ids.span_id(),
                        direct.group_for(parent.trace_id, parent.span_id),
                    ),
                    Place::Root(root) => (root.span_id, direct.group_for(root.trace_id, 0)),
                };
                direct.store.record(&DirectSpan {
                    span_id,
                    name,
                    start_unix_ns: direct.epoch_unix_ns.saturating_add(start_ns),
                    end_unix_ns: direct.epoch_unix_ns.saturating_add(end_ns),
                    group,
                    attributes: &attributes,
                    error: match result {
                        OpResult::Served => None,
                        OpResult::Failed(description) => Some(description),
                    },
                });
                return;
            }
            Sink::Sdk(session) => session.clone(),
        };
        let mut all = Vec::with_capacity(self.identity.len() + attributes.len());
        all.extend(self.identity.iter().cloned());
        all.extend(attributes);
        let builder = self
            .tracer
            .span_builder(Cow::Borrowed(name))
            .with_kind(SpanKind::Internal)
            .with_start_time(self.time_base.at(start_ns))
            .with_attributes(all);
        let mut span = match place {
            Place::Session => builder.start_with_context(&self.tracer, &session),
            Place::Under(parent) => builder.start_with_context(&self.tracer, &context_of(parent)),
            Place::Root(root) => seeded_ids::forcing(root.span_id, root.trace_id, || {
                builder.start_with_context(&self.tracer, &Context::new())
            }),
        };
        if let OpResult::Failed(description) = result {
            span.set_status(Status::error(description.to_owned()));
        }
        span.end_with_timestamp(self.time_base.at(end_ns));
    }

    /// The session span as a parent, for sessions that run under this one; none when no
    /// spans are kept.
    pub fn session_parent(&self) -> Option<SpanParent> {
        match &self.sink {
            Sink::None => None,
            Sink::Direct(direct) => Some(SpanParent {
                trace_id: direct.trace_id,
                span_id: direct.span_id,
            }),
            Sink::Sdk(session) => {
                let span = session.span();
                let context = span.span_context();
                Some(SpanParent {
                    trace_id: u128::from_be_bytes(context.trace_id().to_bytes()),
                    span_id: u64::from_be_bytes(context.span_id().to_bytes()),
                })
            }
        }
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
