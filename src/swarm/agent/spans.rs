//! The spans an agent leaves for served calls: agent-level calls (heartbeats) under its
//! session, calls about a work item in that item's trace, each with the item's attributes.

use std::sync::Arc;

use opentelemetry::KeyValue;

use super::{Agent, Timed};
use crate::ids::WorkId;
use crate::telemetry::recorder::OpResult;
use crate::telemetry::OpKind;

impl Agent {
    /// Records a served call's span and latency (from its intended start, see `Timed`).
    pub(super) fn record<T>(&mut self, op: OpKind, done: &Timed<T>, attrs: Vec<KeyValue>) {
        self.recorder.op_since(
            op,
            done.origin_ns,
            done.start_ns,
            done.end_ns,
            attrs,
            OpResult::Served,
        );
    }

    /// `record` for a call about `item`: its span joins the item's trace.
    pub(super) fn record_item<T>(
        &mut self,
        item: WorkId,
        op: OpKind,
        done: &Timed<T>,
        attrs: Vec<KeyValue>,
    ) {
        let root = self.shared.item_root(item);
        self.recorder.item_op_since(
            root,
            op,
            done.origin_ns,
            done.start_ns,
            done.end_ns,
            attrs,
            OpResult::Served,
        );
    }

    /// An operation's attributes; none when the capture keeps no spans, so the histogram-only
    /// hot path formats no identifiers.
    pub(super) fn item_attrs(
        &mut self,
        item: WorkId,
        stage: usize,
        outcome: &'static str,
        attempt: u32,
    ) -> Vec<KeyValue> {
        if !self.recorder.keeps_spans() {
            return Vec::new();
        }
        let text = match &self.item_text {
            Some((cached, text)) if *cached == item => text.clone(),
            _ => {
                let shared: Arc<str> = Arc::from(item.to_string());
                let text = opentelemetry::StringValue::from(shared);
                self.item_text = Some((item, text.clone()));
                text
            }
        };
        vec![
            KeyValue::new("work.item_id", text),
            KeyValue::new("work.stage", stage as i64),
            KeyValue::new("work.outcome", outcome),
            KeyValue::new("work.attempt", i64::from(attempt)),
        ]
    }
}
