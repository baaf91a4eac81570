//! `CompactStore`: a span processor that keeps every finished span in a compact form.
//!
//! The SDK's `SpanData` costs about 900 bytes a span retained (owned strings, an
//! instrumentation scope, events and links vectors), so a million-operation run would need a
//! gigabyte for evidence alone. This processor converts each span as it ends into a fixed
//! 72-byte record plus 16 bytes per attribute: names, keys and text values are interned, times
//! are integers. Nothing is sampled: every span that ends is kept, because the conflict
//! checker must see every claim.
//!
//! Spans land in one of a few shards chosen by the ending thread, so worker threads never
//! wait on one lock; a global sequence number keeps the order in which spans ended, which is
//! the order evidence checks and digests read them in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::{Context, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::record::{unix_ns, AttrValue, SpanRecord, SpanStatus};
use crate::error::{Error, Result};

/// Shards a store splits into: more than the cores of any machine this runs on, so two
/// worker threads rarely share one.
const SHARD_COUNT: usize = 16;
/// Records per storage chunk. Chunks never grow once allocated, so retained memory is the
/// records plus at most one partly filled chunk per shard (no doubling slack).
const CHUNK_LEN: usize = 8_192;

/// The next shard a newly seen thread is given.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The shard this thread writes into, fixed for the thread's life.
    static THREAD_SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARD_COUNT;
}

/// Attribute value kinds, stored in the low two bits of `CompactAttr::key_and_kind`.
const KIND_STR: u32 = 0;
const KIND_INT: u32 = 1;
const KIND_FLOAT: u32 = 2;
const KIND_BOOL: u32 = 3;
const KIND_BITS: u32 = 2;
/// Status codes; an error's interned description index is stored above `STATUS_ERROR_BASE`.
const STATUS_UNSET: u32 = 0;
const STATUS_OK: u32 = 1;
const STATUS_ERROR_BASE: u32 = 2;

/// One attribute: interned key and value kind packed in 32 bits, the value in 64.
#[derive(Debug, Clone, Copy)]
struct CompactAttr {
    key_and_kind: u32,
    bits: u64,
}

/// One span, without its attributes (those sit in the shard's attribute chunks).
#[derive(Debug, Clone, Copy)]
struct CompactSpan {
    trace_id: [u64; 2],
    span_id: u64,
    parent_span_id: u64,
    start_unix_ns: u64,
    end_unix_ns: u64,
    sequence: u64,
    attrs_start: u32,
    attrs_len: u32,
    name: u32,
    status: u32,
}

/// Append-only storage in fixed-size chunks.
#[derive(Debug)]
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T: Copy> Chunked<T> {
    fn new() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }

    fn push(&mut self, value: T) {
        if self.len.is_multiple_of(CHUNK_LEN) {
            self.chunks.push(Vec::with_capacity(CHUNK_LEN));
        }
        let last = self.chunks.len() - 1;
        self.chunks[last].push(value);
        self.len += 1;
    }

    fn get(&self, index: usize) -> T {
        self.chunks[index / CHUNK_LEN][index % CHUNK_LEN]
    }

    fn capacity_bytes(&self) -> usize {
        self.chunks.len() * CHUNK_LEN * std::mem::size_of::<T>()
    }
}

/// FNV-1a: the interner hashes a few short strings per span, where SipHash's set-up cost
/// dominates; the keys are our own span vocabulary and identifiers, not hostile input.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        Fnv(FNV_OFFSET_BASIS)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const FNV_PRIME: u64 = 0x0100_0000_01b3;
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }
}

/// Strings stored once per shard and referred to by index.
#[derive(Debug, Default)]
struct Interner {
    indexes: HashMap<Arc<str>, u32, std::hash::BuildHasherDefault<Fnv>>,
    strings: Vec<Arc<str>>,
    text_bytes: usize,
}

impl Interner {
    fn intern(&mut self, text: &str) -> Option<u32> {
        if let Some(&index) = self.indexes.get(text) {
            return Some(index);
        }
        let index = u32::try_from(self.strings.len()).ok()?;
        let shared: Arc<str> = Arc::from(text);
        self.text_bytes += text.len();
        self.strings.push(Arc::clone(&shared));
        self.indexes.insert(shared, index);
        Some(index)
    }

    fn get(&self, index: u32) -> &str {
        &self.strings[index as usize]
    }

    /// Text, two `Arc` headers and pointers, and a map slot per string: an estimate of what
    /// the interner holds, for the bytes-per-span figure.
    fn retained_bytes(&self) -> usize {
        const PER_STRING_BYTES: usize = 16 + 16 + 24 + 8;
        self.text_bytes + self.strings.len() * PER_STRING_BYTES
    }
}

#[derive(Debug)]
struct Shard {
    spans: Chunked<CompactSpan>,
    attrs: Chunked<CompactAttr>,
    strings: Interner,
}

impl Shard {
    fn new() -> Self {
        Self {
            spans: Chunked::new(),
            attrs: Chunked::new(),
            strings: Interner::default(),
        }
    }

    /// Stores `span`; `None` if a 32-bit index ran out (the store then reports an error).
    fn store(&mut self, span: &SpanData, sequence: u64) -> Option<()> {
        let attrs_start = u32::try_from(self.attrs.len).ok()?;
        for kv in &span.attributes {
            let key = self.strings.intern(kv.key.as_str())?;
            let (kind, bits) = match &kv.value {
                Value::Bool(b) => (KIND_BOOL, u64::from(*b)),
                Value::I64(i) => (KIND_INT, *i as u64),
                Value::F64(f) => (KIND_FLOAT, f.to_bits()),
                other => (KIND_STR, u64::from(self.strings.intern(&other.as_str())?)),
            };
            let key_and_kind = key.checked_mul(1 << KIND_BITS)? | kind;
            self.attrs.push(CompactAttr { key_and_kind, bits });
        }
        let status = match &span.status {
            Status::Unset => STATUS_UNSET,
            Status::Ok => STATUS_OK,
            Status::Error { description } => {
                STATUS_ERROR_BASE.checked_add(self.strings.intern(description)?)?
            }
        };
        let trace = u128::from_be_bytes(span.span_context.trace_id().to_bytes());
        self.spans.push(CompactSpan {
            trace_id: [(trace >> 64) as u64, trace as u64],
            span_id: u64::from_be_bytes(span.span_context.span_id().to_bytes()),
            parent_span_id: u64::from_be_bytes(span.parent_span_id.to_bytes()),
            start_unix_ns: unix_ns(span.start_time),
            end_unix_ns: unix_ns(span.end_time),
            sequence,
            attrs_start,
            attrs_len: u32::try_from(span.attributes.len()).ok()?,
            name: self.strings.intern(&span.name)?,
            status,
        });
        Some(())
    }

    fn record(&self, index: usize) -> (u64, SpanRecord) {
        let span = self.spans.get(index);
        let attributes = (0..span.attrs_len as usize)
            .map(|offset| {
                let attr = self.attrs.get(span.attrs_start as usize + offset);
                let key = self.strings.get(attr.key_and_kind >> KIND_BITS).to_owned();
                let value = match attr.key_and_kind & ((1 << KIND_BITS) - 1) {
                    KIND_STR => AttrValue::Str(self.strings.get(attr.bits as u32).to_owned()),
                    KIND_INT => AttrValue::Int(attr.bits as i64),
                    KIND_FLOAT => AttrValue::Float(f64::from_bits(attr.bits)),
                    _ => AttrValue::Bool(attr.bits != 0),
                };
                (key, value)
            })
            .collect();
        let status = match span.status {
            STATUS_UNSET => SpanStatus::Unset,
            STATUS_OK => SpanStatus::Ok,
            error => SpanStatus::Error(self.strings.get(error - STATUS_ERROR_BASE).to_owned()),
        };
        let record = SpanRecord {
            trace_id: u128::from(span.trace_id[0]) << 64 | u128::from(span.trace_id[1]),
            span_id: span.span_id,
            parent_span_id: (span.parent_span_id != 0).then_some(span.parent_span_id),
            name: self.strings.get(span.name).to_owned(),
            start_unix_ns: span.start_unix_ns,
            end_unix_ns: span.end_unix_ns,
            status,
            attributes,
        };
        (span.sequence, record)
    }
}

#[derive(Debug)]
struct StoreInner {
    shards: Vec<Mutex<Shard>>,
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
                sequence: AtomicU64::new(0),
                overflowed: AtomicBool::new(false),
            }),
        }
    }

    /// Spans stored so far.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).spans.len).sum()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the store holds: chunk capacity (records and attributes) plus interned strings.
    pub fn retained_bytes(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| {
                let shard = lock(shard);
                shard.spans.capacity_bytes()
                    + shard.attrs.capacity_bytes()
                    + shard.strings.retained_bytes()
            })
            .sum()
    }

    /// Every stored span as a `SpanRecord`, in the order the spans ended.
    pub fn records(&self) -> Result<Vec<SpanRecord>> {
        if self.inner.overflowed.load(Ordering::Acquire) {
            return Err(Error::Capture(
                "the compact span store ran out of 32-bit indexes; spans were lost".into(),
            ));
        }
        let mut numbered = Vec::new();
        for shard in &self.inner.shards {
            let shard = lock(shard);
            numbered.extend((0..shard.spans.len).map(|index| shard.record(index)));
        }
        numbered.sort_unstable_by_key(|(sequence, _)| *sequence);
        Ok(numbered.into_iter().map(|(_, record)| record).collect())
    }
}

impl SpanProcessor for CompactStore {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let shard_index = THREAD_SHARD.with(|index| *index);
        let mut shard = lock(&self.inner.shards[shard_index]);
        // Taken under the shard lock, so within a shard sequence order is storage order.
        let sequence = self.inner.sequence.fetch_add(1, Ordering::Relaxed);
        if shard.store(&span, sequence).is_none() {
            self.inner.overflowed.store(true, Ordering::Release);
        }
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
}
