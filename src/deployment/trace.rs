//! Deploy spans with simulated timestamps, parented explicitly.
//!
//! `AgentRecorder` puts its identity on every child and cannot add attributes to its own
//! session span, but a `deploy.run` only learns its outcome when it ends, and its batches
//! carry a version of their own. So deploy spans go straight to the capture's tracer here.

use std::borrow::Cow;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use crate::telemetry::{Capture, TimeBase};

/// A span that is still open, to parent others and to close later.
#[derive(Debug)]
pub struct OpenSpan(Context);

/// Writes deploy spans into one capture, on the simulated clock.
#[derive(Debug)]
pub struct SpanWriter {
    tracer: SdkTracer,
    time_base: TimeBase,
}

impl SpanWriter {
    /// A writer into `capture` whose time 0 is `time_base`'s epoch.
    pub fn new(capture: &Capture, time_base: TimeBase) -> Self {
        Self {
            tracer: capture.tracer().clone(),
            time_base,
        }
    }

    /// Opens `name` at `start_ns` under `parent` (a new trace when `None`).
    pub fn open(
        &self,
        name: &'static str,
        start_ns: u64,
        attributes: Vec<KeyValue>,
        parent: Option<&OpenSpan>,
    ) -> OpenSpan {
        // An empty context, not the ambient one: a root must not pick up a caller's span.
        let root = Context::new();
        let span = self
            .tracer
            .span_builder(Cow::Borrowed(name))
            .with_kind(SpanKind::Internal)
            .with_start_time(self.time_base.at(start_ns))
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent.map_or(&root, |p| &p.0));
        OpenSpan(Context::current_with_span(span))
    }

    /// Closes `span` at `end_ns`, adding `attributes` learnt meanwhile; `error` sets the
    /// status to error with that description.
    pub fn close(
        &self,
        span: OpenSpan,
        end_ns: u64,
        attributes: Vec<KeyValue>,
        error: Option<&str>,
    ) {
        let span_ref = span.0.span();
        span_ref.set_attributes(attributes);
        if let Some(description) = error {
            span_ref.set_status(Status::error(description.to_owned()));
        }
        span_ref.end_with_timestamp(self.time_base.at(end_ns));
    }

    /// A span from `start_ns` to `end_ns` in one call.
    pub fn record(
        &self,
        name: &'static str,
        (start_ns, end_ns): (u64, u64),
        attributes: Vec<KeyValue>,
        parent: Option<&OpenSpan>,
        error: Option<&str>,
    ) {
        let span = self.open(name, start_ns, attributes, parent);
        self.close(span, end_ns, Vec::new(), error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::SpanStatus;

    // Proves children are parented and timed as asked, and late attributes and errors land.
    #[test]
    fn spans_carry_parents_times_and_late_attributes() {
        let capture = Capture::new(1);
        let writer = SpanWriter::new(&capture, TimeBase::simulated());
        let run = writer.open("deploy.run", 1_000, vec![KeyValue::new("a", "b")], None);
        writer.record("deploy.batch", (2_000, 3_000), Vec::new(), Some(&run), None);
        writer.close(
            run,
            9_000,
            vec![KeyValue::new("deploy.outcome", "rolled_back")],
            Some("bad"),
        );
        let spans = capture.spans().unwrap();
        let (batch, run) = (&spans[0], &spans[1]);
        assert_eq!(batch.parent_span_id, Some(run.span_id));
        assert_eq!(batch.trace_id, run.trace_id);
        assert_eq!(run.parent_span_id, None);
        assert_eq!((batch.duration_ns(), run.duration_ns()), (1_000, 8_000));
        assert_eq!(
            run.attr_text("deploy.outcome").as_deref(),
            Some("rolled_back")
        );
        assert_eq!(run.status, SpanStatus::Error("bad".into()));
    }
}
