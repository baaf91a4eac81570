//! A recorder's session when its spans go straight into the compact store: the session
//! span's ids and groups, and the group its spans about one item share.

use std::sync::Arc;

use opentelemetry::KeyValue;

use super::compact::GroupId;
use super::seeded_ids::SeededIds;
use super::CompactStore;

/// A session span being written straight into the compact store.
pub(super) struct DirectSession {
    pub(super) store: CompactStore,
    pub(super) ids: SeededIds,
    pub(super) name: &'static str,
    pub(super) span_id: u64,
    pub(super) start_unix_ns: u64,
    /// Run time 0 in ns since the Unix epoch: adding a run time to it gives exactly what
    /// `unix_ns(time_base.at(t))` would, without a `SystemTime` round trip per span.
    pub(super) epoch_unix_ns: u64,
    /// The session span's own group (root: no parent).
    pub(super) root: GroupId,
    /// Its children's group (the session span as parent).
    pub(super) children: GroupId,
    /// The trace the session span is in.
    pub(super) trace_id: u128,
    /// What every group of this session starts with: the agent's identity.
    pub(super) identity: Arc<[KeyValue]>,
    /// The group last used for a span outside the session (keyed by trace and parent): an
    /// agent's spans about one item come in a row, so one entry saves a group per span.
    pub(super) last_group: Option<((u128, u64), GroupId)>,
}

impl DirectSession {
    /// The group of spans with this trace and parent, registered if it is not the last one.
    pub(super) fn group_for(&mut self, trace_id: u128, parent_span_id: u64) -> GroupId {
        match self.last_group {
            Some((key, group)) if key == (trace_id, parent_span_id) => group,
            _ => {
                let group = self
                    .store
                    .group(trace_id, parent_span_id, Arc::clone(&self.identity));
                self.last_group = Some(((trace_id, parent_span_id), group));
                group
            }
        }
    }
}
