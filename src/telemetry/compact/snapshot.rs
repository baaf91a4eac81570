//! `Snapshot`: the store as it stood at one moment, read span by span and by position.
//!
//! `CompactStore::records` decodes every span, which is what a verdict needs once at the end
//! of a run. The live checker instead reads a running store again and again, and at a
//! million items decoding every span each time cost seconds and gigabytes. A snapshot lets
//! it decode only what is new since its last look (spans past a per-shard cursor) and, later,
//! the few older spans of the items those touched, by position.

use super::shard::Frozen;
use super::{CompactStore, SHARD_COUNT};
use crate::error::{Error, Result};
use crate::telemetry::SpanRecord;

/// Where a span sits in the store: its shard and its index there. Positions stay valid for
/// the store's life (shards only grow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanPosition(u64);

/// Bits of a position that hold the index within the shard.
const INDEX_BITS: u32 = 48;

impl SpanPosition {
    fn new(shard: usize, index: usize) -> Self {
        Self(((shard as u64) << INDEX_BITS) | index as u64)
    }

    fn shard(self) -> usize {
        (self.0 >> INDEX_BITS) as usize
    }

    fn index(self) -> usize {
        (self.0 & ((1 << INDEX_BITS) - 1)) as usize
    }
}

/// Per-shard counts of spans already read: what a reader has seen of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<usize>);

impl Default for Cursor {
    fn default() -> Self {
        Self(vec![0; SHARD_COUNT])
    }
}

impl Cursor {
    /// Spans read so far.
    pub fn spans(&self) -> usize {
        self.0.iter().sum()
    }
}

/// Every shard frozen at one moment (see `CompactStore::snapshot`).
#[derive(Debug)]
pub struct Snapshot {
    store: CompactStore,
    frozen: Vec<Frozen>,
}

impl CompactStore {
    /// The store as it stands: each shard copied under its lock in turn (full chunks are
    /// shared, not copied), then read with no lock held. Fails, as `records` does, if a
    /// span could not be stored.
    pub fn snapshot(&self) -> Result<Snapshot> {
        if self
            .inner
            .overflowed
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(Error::Capture(
                "the compact span store ran out of 32-bit indexes; spans were lost".into(),
            ));
        }
        Ok(Snapshot {
            store: self.clone(),
            frozen: self.freeze(),
        })
    }
}

impl Snapshot {
    /// Spans the snapshot holds.
    pub fn len(&self) -> usize {
        self.frozen.iter().map(Frozen::len).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spans not yet read by `cursor`.
    pub fn unread(&self, cursor: &Cursor) -> usize {
        self.len().saturating_sub(cursor.spans())
    }

    /// Up to `limit` of the spans `cursor` has not read, each with its position, shard by
    /// shard (within a shard in the order they ended), and moves the cursor past them. A
    /// reader takes a long backlog in batches, so it never holds more than `limit` decoded
    /// spans.
    pub fn read_new(&self, cursor: &mut Cursor, limit: usize) -> Vec<(SpanPosition, SpanRecord)> {
        let mut fresh = Vec::with_capacity(self.unread(cursor).min(limit));
        for (shard, (frozen, seen)) in self.frozen.iter().zip(&mut cursor.0).enumerate() {
            let until = frozen.len().min(seen.saturating_add(limit - fresh.len()));
            for index in *seen..until {
                let (_, record) = frozen.record(index, &self.store.inner.groups);
                fresh.push((SpanPosition::new(shard, index), record));
            }
            *seen = (*seen).max(until);
            if fresh.len() == limit {
                break;
            }
        }
        fresh
    }

    /// The span at `position`, if the snapshot holds it.
    pub fn record(&self, position: SpanPosition) -> Option<SpanRecord> {
        let frozen = self.frozen.get(position.shard())?;
        (position.index() < frozen.len())
            .then(|| frozen.record(position.index(), &self.store.inner.groups).1)
    }

    /// The first `fraction` of each shard's spans only: a snapshot as an earlier one would
    /// have been, for tests that feed a reader a store in steps.
    #[cfg(test)]
    pub(crate) fn prefix(&self, fraction: f64) -> Snapshot {
        Snapshot {
            store: self.store.clone(),
            frozen: self
                .frozen
                .iter()
                .map(|frozen| frozen.prefix((frozen.len() as f64 * fraction) as usize))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    // Proves a cursor reads each span exactly once across snapshots, that positions read
    // back the same span later, and that the spans read equal `records` as a set.
    #[test]
    fn cursors_read_each_span_once_and_positions_stay_valid() {
        let store = CompactStore::new();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(store.clone())
            .build();
        let tracer = provider.tracer("test");
        let emit = |from: i64, to: i64| {
            for index in from..to {
                let span = tracer
                    .span_builder(format!("op.{index}"))
                    .with_attributes(vec![KeyValue::new("n", index)])
                    .start(&tracer);
                drop(span);
            }
        };
        emit(0, 3);
        let mut cursor = Cursor::default();
        let first = store.snapshot().unwrap();
        let mut read = first.read_new(&mut cursor, 2);
        assert_eq!(read.len(), 2);
        assert_eq!(first.unread(&cursor), 1);
        read.extend(first.read_new(&mut cursor, 2));
        assert_eq!(read.len(), 3);
        assert_eq!(first.unread(&cursor), 0);
        emit(3, 5);
        let second = store.snapshot().unwrap();
        assert_eq!(second.unread(&cursor), 2);
        let more = second.read_new(&mut cursor, usize::MAX);
        assert_eq!(more.len(), 2);
        assert!(second.read_new(&mut cursor, usize::MAX).is_empty());
        let mut all: Vec<SpanRecord> = read.iter().chain(&more).map(|(_, r)| r.clone()).collect();
        for (position, record) in read.iter().chain(&more) {
            assert_eq!(second.record(*position).as_ref(), Some(record));
        }
        assert_eq!(first.record(more[0].0), None);
        let mut expected = store.records().unwrap();
        all.sort_by_key(|r| r.span_id);
        expected.sort_by_key(|r| r.span_id);
        assert_eq!(all, expected);
    }
}
