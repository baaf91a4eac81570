//! One shard of the compact store: spans and attributes in fixed chunks, strings interned.
//!
//! A span is a 48-byte record; an attribute 12 bytes (a 32-bit key-and-kind word and a 64-bit
//! value). Agent and work identifiers, the most frequent text values, are stored as their
//! number (`KIND_WORK_ID`, `KIND_AGENT_ID`) and printed back on reading, so no string is
//! kept per item. What a span shares with its siblings (trace, parent, the agent's identity)
//! sits once in a `Group` of the store, not in every span.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::{KeyValue, Value};

use super::super::record::{AttrKey, AttrValue, SpanRecord, SpanStatus};
use crate::ids::{AgentId, WorkId, ID_DIGITS};

/// Records per storage chunk. Chunks never grow once allocated, so retained memory is the
/// records plus at most one partly filled chunk per shard (no doubling slack).
const CHUNK_LEN: usize = 8_192;

/// Attribute value kinds, in the low `KIND_BITS` bits of `CompactAttr::key_and_kind`.
const KIND_STR: u32 = 0;
const KIND_INT: u32 = 1;
const KIND_FLOAT: u32 = 2;
const KIND_BOOL: u32 = 3;
const KIND_WORK_ID: u32 = 4;
const KIND_AGENT_ID: u32 = 5;
const KIND_BITS: u32 = 3;
/// Status codes; an error's interned description index is stored above `STATUS_ERROR_BASE`.
const STATUS_UNSET: u32 = 0;
const STATUS_OK: u32 = 1;
const STATUS_ERROR_BASE: u32 = 2;

/// What spans of one session share: trace, parent and leading attributes.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) trace_id: u128,
    /// 0 for root spans.
    pub(super) parent_span_id: u64,
    /// Attributes every span of the group starts with.
    pub(super) attributes: Arc<[KeyValue]>,
}

/// One attribute: interned key and value kind packed in 32 bits, the value in 64. Packed to
/// 12 bytes: alignment would pad it to 16, a quarter more per attribute.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct CompactAttr {
    key_and_kind: u32,
    bits: u64,
}

/// One span, without its attributes (those sit in the shard's attribute chunks).
#[derive(Debug, Clone, Copy)]
struct CompactSpan {
    span_id: u64,
    start_unix_ns: u64,
    end_unix_ns: u64,
    sequence: u64,
    group: u32,
    attrs_start: u32,
    attrs_len: u16,
    name: u16,
    status: u32,
}

/// A span as handed to a shard: everything but the group's share.
pub(super) struct SpanParts<'a> {
    pub(super) span_id: u64,
    pub(super) name: &'a str,
    pub(super) start_unix_ns: u64,
    pub(super) end_unix_ns: u64,
    pub(super) group: u32,
    /// The span's own attributes (after the group's).
    pub(super) attributes: &'a [KeyValue],
    pub(super) status: PartStatus<'a>,
}

/// A span's status as handed to a shard.
#[derive(Debug, Clone, Copy)]
pub(super) enum PartStatus<'a> {
    Unset,
    Ok,
    Error(&'a str),
}

/// Append-only storage in fixed-size chunks. A full chunk never changes again, so it sits
/// behind an `Arc` and a snapshot shares it instead of copying it; only the chunk being
/// filled is copied. Freezing a shard under its lock then costs a pointer per full chunk and
/// at most one chunk's copy, however many spans it holds, and agents storing spans on that
/// shard wait for that much only. Storing is a plain push (no atomic), as before.
#[derive(Debug, Clone)]
struct Chunked<T> {
    full: Vec<Arc<Vec<T>>>,
    tail: Vec<T>,
    len: usize,
}

impl<T: Copy> Chunked<T> {
    fn new() -> Self {
        Self {
            full: Vec::new(),
            tail: Vec::new(),
            len: 0,
        }
    }

    fn push(&mut self, value: T) {
        if self.tail.len() == CHUNK_LEN {
            let filled = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK_LEN));
            self.full.push(Arc::new(filled));
        } else if self.tail.capacity() == 0 {
            self.tail.reserve_exact(CHUNK_LEN);
        }
        self.tail.push(value);
        self.len += 1;
    }

    fn get(&self, index: usize) -> T {
        let (chunk, offset) = (index / CHUNK_LEN, index % CHUNK_LEN);
        match self.full.get(chunk) {
            Some(full) => full[offset],
            None => self.tail[offset],
        }
    }

    fn capacity_bytes(&self) -> usize {
        let chunks = self.full.len() + usize::from(self.tail.capacity() > 0);
        chunks * CHUNK_LEN * std::mem::size_of::<T>()
    }
}

/// FNV-1a: the interner hashes a few short strings per span, where SipHash's set-up cost
/// dominates; the keys are our own span vocabulary and identifiers, not hostile input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fnv(u64);

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

/// Slots of the interner's front cache (a power of two).
const RECENT_SLOTS: usize = 256;

/// Strings stored once per shard and referred to by index.
#[derive(Debug)]
struct Interner {
    indexes: HashMap<Arc<str>, u32, std::hash::BuildHasherDefault<Fnv>>,
    strings: Vec<Arc<str>>,
    text_bytes: usize,
    /// Index of a string recently interned, by where its text lay in memory. Attribute keys
    /// and outcome values are mostly `&'static str`s at fixed addresses, so the address
    /// finds them without hashing the text; a hit is still confirmed by comparing the text,
    /// since an address can be reused for other text.
    recent: Box<[(usize, u32)]>,
}

impl Default for Interner {
    fn default() -> Self {
        Self {
            indexes: HashMap::default(),
            strings: Vec::new(),
            text_bytes: 0,
            recent: vec![(0, 0); RECENT_SLOTS].into_boxed_slice(),
        }
    }
}

impl Interner {
    fn intern(&mut self, text: &str) -> Option<u32> {
        let address = text.as_ptr() as usize;
        let slot = (address >> 3 ^ address >> 11) & (RECENT_SLOTS - 1);
        let (seen_at, index) = self.recent[slot];
        if seen_at == address
            && self
                .strings
                .get(index as usize)
                .is_some_and(|s| **s == *text)
        {
            return Some(index);
        }
        let index = self.intern_by_text(text)?;
        self.recent[slot] = (address, index);
        Some(index)
    }

    fn intern_by_text(&mut self, text: &str) -> Option<u32> {
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

    /// Text, two `Arc` headers and pointers, and a map slot per string: an estimate of what
    /// the interner holds, for the bytes-per-span figure.
    fn retained_bytes(&self) -> usize {
        const PER_STRING_BYTES: usize = 16 + 16 + 24 + 8;
        self.text_bytes + self.strings.len() * PER_STRING_BYTES
    }
}

/// The identifier a text value spells, if printing it back gives exactly the same text:
/// the prefix, `_`, and exactly `ID_DIGITS` digits that fit a `u64` (checked without
/// allocating, as this runs for every text value stored).
fn identifier(text: &str) -> Option<(u32, u64)> {
    let (kind, digits) = if let Some(rest) = text.strip_prefix(WorkId::PREFIX) {
        (KIND_WORK_ID, rest.strip_prefix('_')?)
    } else {
        (
            KIND_AGENT_ID,
            text.strip_prefix(AgentId::PREFIX)?.strip_prefix('_')?,
        )
    };
    if digits.len() != ID_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((kind, digits.parse().ok()?))
}

/// Converts an SDK value to the form records carry.
pub(super) fn attr_value(value: &Value) -> AttrValue {
    match value {
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::I64(i) => AttrValue::Int(*i),
        Value::F64(f) => AttrValue::Float(*f),
        other => AttrValue::Str(other.as_str().into_owned()),
    }
}

#[derive(Debug)]
pub(super) struct Shard {
    spans: Chunked<CompactSpan>,
    attrs: Chunked<CompactAttr>,
    strings: Interner,
    /// Groups this shard made for spans that came through the SDK, by (trace, parent).
    pub(super) sdk_groups: HashMap<(u128, u64), u32, std::hash::BuildHasherDefault<Fnv>>,
}

impl Shard {
    pub(super) fn new() -> Self {
        Self {
            spans: Chunked::new(),
            attrs: Chunked::new(),
            strings: Interner::default(),
            sdk_groups: HashMap::default(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.spans.len
    }

    /// Chunk capacity (records and attributes) plus interned strings, bytes.
    pub(super) fn retained_bytes(&self) -> usize {
        self.spans.capacity_bytes() + self.attrs.capacity_bytes() + self.strings.retained_bytes()
    }

    fn encode(&mut self, kv: &KeyValue) -> Option<CompactAttr> {
        let key = self.strings.intern(kv.key.as_str())?;
        let (kind, bits) = match &kv.value {
            Value::Bool(b) => (KIND_BOOL, u64::from(*b)),
            Value::I64(i) => (KIND_INT, *i as u64),
            Value::F64(f) => (KIND_FLOAT, f.to_bits()),
            Value::String(text) => match identifier(text.as_str()) {
                Some(id) => id,
                None => (KIND_STR, u64::from(self.strings.intern(text.as_str())?)),
            },
            other => (KIND_STR, u64::from(self.strings.intern(&other.as_str())?)),
        };
        let key_and_kind = key.checked_mul(1 << KIND_BITS)? | kind;
        Some(CompactAttr { key_and_kind, bits })
    }

    /// Stores a span; `None` if an index ran out of its bits (the store then reports an
    /// error rather than hand checks incomplete evidence).
    pub(super) fn store(&mut self, span: &SpanParts<'_>, sequence: u64) -> Option<()> {
        let attrs_start = u32::try_from(self.attrs.len).ok()?;
        for kv in span.attributes {
            let attr = self.encode(kv)?;
            self.attrs.push(attr);
        }
        let status = match span.status {
            PartStatus::Unset => STATUS_UNSET,
            PartStatus::Ok => STATUS_OK,
            PartStatus::Error(description) => {
                STATUS_ERROR_BASE.checked_add(self.strings.intern(description)?)?
            }
        };
        self.spans.push(CompactSpan {
            span_id: span.span_id,
            start_unix_ns: span.start_unix_ns,
            end_unix_ns: span.end_unix_ns,
            sequence,
            group: span.group,
            attrs_start,
            attrs_len: u16::try_from(span.attributes.len()).ok()?,
            name: u16::try_from(self.strings.intern(span.name)?).ok()?,
            status,
        });
        Some(())
    }

    /// What reading the spans needs, taken under the shard's lock so the lock is held for
    /// shared full chunks, one copied chunk each of records and attributes, and the string
    /// handles, not for decoding every span into owned strings: agents storing spans on
    /// this shard wait for that only.
    pub(super) fn freeze(&self) -> Frozen {
        Frozen {
            spans: self.spans.clone(),
            attrs: self.attrs.clone(),
            strings: self.strings.strings.clone(),
        }
    }
}

/// One shard's spans as they stood when frozen, decoded without its lock.
#[derive(Debug)]
pub(super) struct Frozen {
    spans: Chunked<CompactSpan>,
    attrs: Chunked<CompactAttr>,
    strings: Vec<Arc<str>>,
}

impl Frozen {
    pub(super) fn len(&self) -> usize {
        self.spans.len
    }

    /// The first `keep` spans only (a test's view of an earlier moment).
    #[cfg(test)]
    pub(super) fn prefix(&self, keep: usize) -> Frozen {
        let mut spans = self.spans.clone();
        spans.len = spans.len.min(keep);
        Frozen {
            spans,
            attrs: self.attrs.clone(),
            strings: self.strings.clone(),
        }
    }

    fn string(&self, index: u32) -> &str {
        &self.strings[index as usize]
    }

    fn decode(&self, attr: CompactAttr) -> (AttrKey, AttrValue) {
        let (key_and_kind, bits) = (attr.key_and_kind, attr.bits);
        let key = Arc::clone(&self.strings[(key_and_kind >> KIND_BITS) as usize]);
        let value = match key_and_kind & ((1 << KIND_BITS) - 1) {
            KIND_STR => AttrValue::Str(self.string(bits as u32).to_owned()),
            KIND_INT => AttrValue::Int(bits as i64),
            KIND_FLOAT => AttrValue::Float(f64::from_bits(bits)),
            KIND_BOOL => AttrValue::Bool(bits != 0),
            KIND_WORK_ID => AttrValue::Str(WorkId(bits).to_string()),
            _ => AttrValue::Str(AgentId(bits).to_string()),
        };
        (key, value)
    }

    /// The span at `index` as a record, with its sequence number.
    pub(super) fn record(&self, index: usize, groups: &boxcar::Vec<Group>) -> (u64, SpanRecord) {
        let span = self.spans.get(index);
        let group = &groups[span.group as usize];
        let attributes = group
            .attributes
            .iter()
            .map(|kv| (AttrKey::from(kv.key.as_str()), attr_value(&kv.value)))
            .chain(
                (0..span.attrs_len as usize)
                    .map(|offset| self.decode(self.attrs.get(span.attrs_start as usize + offset))),
            )
            .collect();
        let status = match span.status {
            STATUS_UNSET => SpanStatus::Unset,
            STATUS_OK => SpanStatus::Ok,
            error => SpanStatus::Error(self.string(error - STATUS_ERROR_BASE).to_owned()),
        };
        let record = SpanRecord {
            trace_id: group.trace_id,
            span_id: span.span_id,
            parent_span_id: (group.parent_span_id != 0).then_some(group.parent_span_id),
            name: self.string(u32::from(span.name)).to_owned(),
            start_unix_ns: span.start_unix_ns,
            end_unix_ns: span.end_unix_ns,
            status,
            attributes,
        };
        (span.sequence, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves values read back in order across chunk boundaries, and that a copy taken
    // mid-chunk keeps what it saw while the original goes on filling the same chunk.
    #[test]
    fn chunks_share_full_chunks_and_copy_the_tail() {
        let mut chunked = Chunked::new();
        for value in 0..CHUNK_LEN + 10 {
            chunked.push(value);
        }
        let frozen = chunked.clone();
        for value in CHUNK_LEN + 10..2 * CHUNK_LEN + 1 {
            chunked.push(value);
        }
        assert!(Arc::ptr_eq(&frozen.full[0], &chunked.full[0]));
        assert_eq!(frozen.len, CHUNK_LEN + 10);
        assert_eq!(frozen.tail.len(), 10);
        assert!((0..frozen.len).all(|index| frozen.get(index) == index));
        assert!((0..chunked.len).all(|index| chunked.get(index) == index));
        assert_eq!(chunked.capacity_bytes(), 3 * CHUNK_LEN * 8);
    }
}
