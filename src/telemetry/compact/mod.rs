//! `CompactStore`: a span processor that keeps every finished span in a compact form.
//!
//! The SDK's `SpanData` costs about 900 bytes a span retained (owned strings, an
//! instrumentation scope, events and links vectors), so a million-operation run would need a
//! gigabyte for evidence alone. This store keeps each span as a fixed 48-byte record plus 12
//! bytes per attribute (see `shard`): names, keys and text values are interned, identifiers
//! and times are integers, and what a session's spans share (trace, parent, the agent's
//! identity) is kept once in a group. Nothing is sampled: every span that ends is kept,
//! because the conflict checker must see every claim.
//!
//! Spans arrive two ways. As a `SpanProcessor`, the store takes whatever the SDK ends. An
//! `AgentRecorder` can also write straight into it (`CompactStore::record`) when nothing
//! else listens to the capture: the same record the SDK path would give (the same seeded
//! ids, drawn in the same order), without building the SDK's span and `SpanData` first.
//!
//! Spans land in one of a few shards chosen by the ending thread, so worker threads never
//! wait on one lock; a global sequence number keeps the order in which spans ended, which is
//! the order evidence checks and digests read them in.

/// Chunked span and attribute storage of one shard, and the encoding of attributes.
mod shard;
/// Reading a running store in steps, by cursor and position.
mod snapshot;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::record::{unix_ns, SpanRecord};
use crate::error::{Error, Result};
use shard::{Group, PartStatus, Shard, SpanParts};
pub use snapshot::{Cursor, Snapshot, SpanPosition};

/// Shards a store splits into: more than the cores of any machine this runs on, so two
/// worker threads rarely share one.
const SHARD_COUNT: usize = 16;

/// The next shard a newly seen thread is given.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The shard this thread writes into, fixed for the thread's life.
    static THREAD_SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARD_COUNT;
}

/// A group of spans registered with `CompactStore::group`: one session's trace, parent and
/// leading attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupId(u32);

/// A span written straight into the store by a recorder.
#[derive(Debug, Clone, Copy)]
pub struct DirectSpan<'a> {
    /// Its id.
    pub span_id: u64,
    /// Its name.
    pub name: &'a str,
    /// Start, ns since the Unix epoch.
    pub start_unix_ns: u64,
    /// End, ns since the Unix epoch.
    pub end_unix_ns: u64,
    /// Trace, parent and the attributes it starts with.
    pub group: GroupId,
    /// Its own attributes, after the group's.
    pub attributes: &'a [KeyValue],
    /// The error it ended with, if it failed.
    pub error: Option<&'a str>,
}

#[derive(Debug)]
struct StoreInner {
    shards: Vec<Mutex<Shard>>,
    groups: boxcar::Vec<Group>,
    sequence: AtomicU64,
    /// Set when a span could not be stored; reading the store then fails rather than
    /// silently handing checks incomplete evidence.
    overflowed: AtomicBool,
}

/// The compact span store and its processor; clones share one store.
#[derive(Debug, Clone)]
pub struct CompactStore {
    inner: Arc<StoreInner>,
}

impl Default for CompactStore {
    fn default() -> Self {
        Self::new()
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while storing leaves at worst one span's attributes without their span: the
    // records already stored are whole, so keep reading them.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CompactStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(StoreInner {
                shards: (0..SHARD_COUNT).map(|_| Mutex::new(Shard::new())).collect(),
                groups: boxcar::Vec::new(),
                sequence: AtomicU64::new(0),
                overflowed: AtomicBool::new(false),
            }),
        }
    }

    /// Spans stored so far.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the store holds: chunk capacity (records and attributes), interned strings,
    /// and groups (an attribute list shared by several groups counted once).
    pub fn retained_bytes(&self) -> usize {
        let shards: usize = self
            .inner
            .shards
            .iter()
            .map(|s| lock(s).retained_bytes())
            .sum();
        let mut seen = std::collections::HashSet::new();
        let groups: usize = self
            .inner
            .groups
            .iter()
            .map(|(_, group)| {
                let first_time = seen.insert(Arc::as_ptr(&group.attributes).cast::<u8>());
                let attributes: usize = if first_time {
                    group
                        .attributes
                        .iter()
                        .map(|kv| {
                            std::mem::size_of::<KeyValue>()
                                + kv.key.as_str().len()
                                + kv.value.as_str().len()
                        })
                        .sum()
                } else {
                    0
                };
                std::mem::size_of::<Group>() + attributes
            })
            .sum();
        shards + groups
    }

    /// Registers what a session's spans share: `trace_id`, `parent_span_id` (0 for roots)
    /// and the `attributes` each of them starts with.
    pub fn group(
        &self,
        trace_id: u128,
        parent_span_id: u64,
        attributes: Arc<[KeyValue]>,
    ) -> GroupId {
        self.push_group(Group {
            trace_id,
            parent_span_id,
            attributes,
        })
    }

    fn push_group(&self, group: Group) -> GroupId {
        let index = self.inner.groups.push(group);
        GroupId(u32::try_from(index).unwrap_or_else(|_| {
            self.inner.overflowed.store(true, Ordering::Release);
            u32::MAX
        }))
    }

    /// Stores a span a recorder built itself, as it ends.
    pub fn record(&self, span: &DirectSpan<'_>) {
        let parts = SpanParts {
            span_id: span.span_id,
            name: span.name,
            start_unix_ns: span.start_unix_ns,
            end_unix_ns: span.end_unix_ns,
            group: span.group.0,
            attributes: span.attributes,
            status: span.error.map_or(PartStatus::Unset, PartStatus::Error),
        };
        let mut shard = lock(&self.inner.shards[THREAD_SHARD.with(|index| *index)]);
        self.store(&mut shard, &parts);
    }

    fn store(&self, shard: &mut Shard, parts: &SpanParts<'_>) {
        // Taken under the shard lock, so within a shard sequence order is storage order.
        let sequence = self.inner.sequence.fetch_add(1, Ordering::Relaxed);
        if shard.store(parts, sequence).is_none() {
            self.inner.overflowed.store(true, Ordering::Release);
        }
    }

    /// Every stored span as a `SpanRecord`, in the order the spans ended.
    pub fn records(&self) -> Result<Vec<SpanRecord>> {
        if self.inner.overflowed.load(Ordering::Acquire) {
            return Err(Error::Capture(
                "the compact span store ran out of 32-bit indexes; spans were lost".into(),
            ));
        }
        Ok(self.decode(&self.freeze()))
    }

    /// Every shard copied under its lock, one at a time (the live view snapshots a running
    /// capture, and agents storing spans wait on a shard only while it is copied).
    fn freeze(&self) -> Vec<shard::Frozen> {
        self.inner.shards.iter().map(|s| lock(s).freeze()).collect()
    }

    /// The frozen shards' spans, decoded with no lock held, in the order they ended.
    fn decode(&self, frozen: &[shard::Frozen]) -> Vec<SpanRecord> {
        let mut numbered = Vec::with_capacity(frozen.iter().map(shard::Frozen::len).sum());
        for shard in frozen {
            numbered.extend((0..shard.len()).map(|index| shard.record(index, &self.inner.groups)));
        }
        numbered.sort_unstable_by_key(|(sequence, _)| *sequence);
        numbered.into_iter().map(|(_, record)| record).collect()
    }
}

impl SpanProcessor for CompactStore {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let trace_id = u128::from_be_bytes(span.span_context.trace_id().to_bytes());
        let parent_span_id = u64::from_be_bytes(span.parent_span_id.to_bytes());
        let mut shard = lock(&self.inner.shards[THREAD_SHARD.with(|index| *index)]);
        let group = match shard.sdk_groups.get(&(trace_id, parent_span_id)) {
            Some(&group) => group,
            None => {
                let GroupId(group) = self.group(trace_id, parent_span_id, Arc::from([]));
                shard.sdk_groups.insert((trace_id, parent_span_id), group);
                group
            }
        };
        let parts = SpanParts {
            span_id: u64::from_be_bytes(span.span_context.span_id().to_bytes()),
            name: &span.name,
            start_unix_ns: unix_ns(span.start_time),
            end_unix_ns: unix_ns(span.end_time),
            group,
            attributes: &span.attributes,
            status: match &span.status {
                Status::Unset => PartStatus::Unset,
                Status::Ok => PartStatus::Ok,
                Status::Error { description } => PartStatus::Error(description),
            },
        };
        self.store(&mut shard, &parts);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    // Proves the compact store gives back exactly what the SDK's exporter keeps, in order.
    #[test]
    fn compact_records_equal_exported_records() {
        let store = CompactStore::new();
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(store.clone())
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("test");
        for index in 0..3_i64 {
            let mut span = tracer
                .span_builder(format!("op.{index}"))
                .with_attributes(vec![
                    KeyValue::new("text", "same"),
                    KeyValue::new("int", -index),
                    KeyValue::new("float", 0.5),
                    KeyValue::new("flag", index == 1),
                ])
                .start(&tracer);
            if index == 2 {
                span.set_status(Status::error("broken"));
            }
            span.end();
        }
        let exported: Vec<SpanRecord> = exporter
            .get_finished_spans()
            .unwrap()
            .iter()
            .map(SpanRecord::from_span_data)
            .collect();
        assert_eq!(store.records().unwrap(), exported);
        assert_eq!(store.len(), 3);
        assert!(store.retained_bytes() > 0);
    }

    // Proves a snapshot holds no shard's lock while it decodes: with the frozen copies
    // alive every shard can be locked and a new span stored, and decoding the copies gives
    // the spans as they were when frozen.
    #[test]
    fn snapshots_decode_without_the_shard_locks() {
        let store = CompactStore::new();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(store.clone())
            .build();
        let tracer = provider.tracer("test");
        for index in 0..3_i64 {
            let mut span = tracer
                .span_builder(format!("op.{index}"))
                .with_attributes(vec![KeyValue::new("n", index)])
                .start(&tracer);
            span.end();
        }
        let before = store.records().unwrap();
        let frozen = store.freeze();
        assert!(store.inner.shards.iter().all(|s| s.try_lock().is_ok()));
        tracer.start("op.late").end();
        assert_eq!(store.decode(&frozen), before);
        assert_eq!(store.records().unwrap().len(), 4);
    }
}
