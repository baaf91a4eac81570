//! The audit log: append-only, each entry hash-chained to the one before it.
//!
//! An entry's hash is SHA-256(previous hash ‖ the entry's canonical bytes), starting from an
//! all-zero genesis hash. Changing, removing, moving or adding an entry therefore breaks a
//! link that `chain::verify_entries` finds and locates. A chain rewritten end to end is still
//! self-consistent, so every append also writes an `audit.append` span carrying the new head
//! hash: the captured evidence anchors the chain, and a rewritten or cut log no longer matches
//! it.

use std::fmt;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;
use sha2::{Digest, Sha256};

use super::chain::{self, ChainBreak};
use crate::telemetry::SpanRecord;

/// Span names of the coordination actions that change who holds what; each one becomes an
/// audit entry. Progress reports and heartbeats change nothing and are left out.
pub const COORDINATION_ACTIONS: [&str; 10] = [
    "work.submit",
    "work.claim",
    "work.complete",
    "work.release",
    "work.handoff",
    "lease.reap",
    // Deployment actions are audited the same way: who changed what, where, with what result.
    "deploy.run",
    "deploy.batch",
    "deploy.rollback",
    "deploy.promotion",
];

/// A SHA-256 link in the chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

/// The hash the first entry links to.
pub const GENESIS_HASH: ChainHash = ChainHash([0; 32]);

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl ChainHash {
    /// Parses 64 hex digits (as `Display` writes them).
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

/// What happened, as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When, in nanoseconds since the Unix epoch.
    pub at_unix_ns: u64,
    /// Who did it (an agent id, or a component such as the reaper).
    pub actor: String,
    /// What was done (`work.claim`, `deploy:production`, …).
    pub action: String,
    /// What it was done to (a work item, a role).
    pub subject: String,
    /// How it ended (`claimed`, `conflict`, `denied`, …).
    pub outcome: String,
    /// Where the record came from: the span id it was built from, or the component.
    pub source: String,
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 0.
    pub sequence: u64,
    /// What happened.
    pub record: AuditRecord,
    /// The hash of the entry before (`GENESIS_HASH` for the first).
    pub prev_hash: ChainHash,
    /// SHA-256(prev_hash ‖ canonical bytes).
    pub hash: ChainHash,
}

impl AuditEntry {
    /// The entry as bytes, unambiguously: fixed-width numbers, then each text field prefixed
    /// by its length, so no two different entries give the same bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let record = &self.record;
        let texts = [
            &record.actor,
            &record.action,
            &record.subject,
            &record.outcome,
            &record.source,
        ];
        let mut bytes = Vec::with_capacity(16 + texts.iter().map(|t| 8 + t.len()).sum::<usize>());
        bytes.extend_from_slice(&self.sequence.to_be_bytes());
        bytes.extend_from_slice(&record.at_unix_ns.to_be_bytes());
        for text in texts {
            bytes.extend_from_slice(&(text.len() as u64).to_be_bytes());
            bytes.extend_from_slice(text.as_bytes());
        }
        bytes
    }

    /// The hash this entry must carry, given the `prev_hash` it names.
    pub fn expected_hash(&self) -> ChainHash {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.0);
        hasher.update(self.canonical_bytes());
        ChainHash(hasher.finalize().into())
    }

    /// An entry at `sequence` linked onto `prev_hash`, with its hash computed.
    pub fn linked(sequence: u64, record: AuditRecord, prev_hash: ChainHash) -> Self {
        let mut entry = Self {
            sequence,
            record,
            prev_hash,
            hash: GENESIS_HASH,
        };
        entry.hash = entry.expected_hash();
        entry
    }
}

/// Where a chain ends: how many entries, and the last hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of entries.
    pub length: usize,
    /// Hash of the last entry (`GENESIS_HASH` when empty).
    pub hash: ChainHash,
}

/// The log. Entries can only be appended; `entries` hands out a read-only view (an export).
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    entries: Vec<AuditEntry>,
    tracer: Option<SdkTracer>,
}

impl AuditLog {
    /// An empty log that writes no spans.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log that writes an `audit.append` span per entry through `tracer`. With the
    /// SDK's simple span processor each append blocks on the export, so append from a plain
    /// thread, not from inside an async executor.
    pub fn traced(tracer: SdkTracer) -> Self {
        Self {
            entries: Vec::new(),
            tracer: Some(tracer),
        }
    }

    /// The tracer compliance spans go to, if any.
    pub fn tracer(&self) -> Option<&SdkTracer> {
        self.tracer.as_ref()
    }

    /// Appends `record` as the next link and returns the new entry.
    pub fn append(&mut self, record: AuditRecord) -> &AuditEntry {
        let head = self.head();
        let entry = AuditEntry::linked(head.length as u64, record, head.hash);
        if let Some(tracer) = &self.tracer {
            let attributes = vec![
                KeyValue::new("agent.id", entry.record.actor.clone()),
                KeyValue::new("compliance.action", entry.record.action.clone()),
                KeyValue::new("compliance.outcome", entry.record.outcome.clone()),
                KeyValue::new("compliance.audit_sequence", entry.sequence as i64),
                KeyValue::new("compliance.audit_hash", entry.hash.to_string()),
            ];
            super::record_span(tracer, "audit.append", entry.record.at_unix_ns, attributes);
        }
        self.entries.push(entry);
        &self.entries[self.entries.len() - 1]
    }

    /// Every entry, in chain order.
    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The current head.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            length: self.entries.len(),
            hash: self.entries.last().map_or(GENESIS_HASH, |entry| entry.hash),
        }
    }

    /// Checks every link; the first break says where and what.
    pub fn verify(&self) -> Result<ChainHead, ChainBreak> {
        chain::verify_entries(&self.entries, None)
    }

    /// Appends one entry per coordination span in `spans`, in the order the actions ended
    /// (ties broken by span id, so a deterministic run gives the same log every time).
    pub fn append_spans(&mut self, spans: &[SpanRecord]) {
        let mut actions: Vec<&SpanRecord> = spans
            .iter()
            .filter(|span| COORDINATION_ACTIONS.contains(&span.name.as_str()))
            .collect();
        actions.sort_by_key(|span| {
            (
                span.end_unix_ns,
                span.start_unix_ns,
                span.trace_id,
                span.span_id,
            )
        });
        for span in actions {
            self.append(record_of_span(span));
        }
    }
}

/// The audit record of one coordination span. The actor is the agent, or the component
/// (reaper) or `swarm` for actions the run itself took (submissions).
pub fn record_of_span(span: &SpanRecord) -> AuditRecord {
    let text = |key: &str| span.attr_text(key);
    AuditRecord {
        at_unix_ns: span.end_unix_ns,
        actor: text("agent.id")
            .or_else(|| text("swarm.component"))
            .unwrap_or_else(|| {
                if span.name.starts_with("deploy.") {
                    "deployer"
                } else {
                    "swarm"
                }
                .into()
            }),
        action: span.name.clone(),
        subject: text("work.item_id")
            .or_else(|| text("deploy.environment"))
            .unwrap_or_else(|| "-".into()),
        outcome: text("work.outcome")
            .or_else(|| text("deploy.outcome"))
            .unwrap_or_else(|| "-".into()),
        source: span.span_id_hex(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{AttrValue, SpanStatus};

    fn record(n: u64) -> AuditRecord {
        AuditRecord {
            at_unix_ns: n,
            actor: format!("agent_{n}"),
            action: "work.claim".into(),
            subject: format!("work_{n}"),
            outcome: "claimed".into(),
            source: "test".into(),
        }
    }

    // Proves each entry links to the one before and the whole log verifies.
    #[test]
    fn appended_entries_form_a_chain() {
        let mut log = AuditLog::new();
        for n in 0..5 {
            log.append(record(n));
        }
        let entries = log.entries();
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        assert!(entries
            .windows(2)
            .all(|pair| pair[1].prev_hash == pair[0].hash));
        assert_eq!(log.verify().ok(), Some(log.head()));
        assert_eq!(
            ChainHash::from_hex(&log.head().hash.to_string()),
            Some(log.head().hash)
        );
    }

    // Proves field boundaries are part of the hash: moving text between fields changes it.
    #[test]
    fn canonical_bytes_are_unambiguous() {
        let mut a = record(1);
        let mut b = record(1);
        (a.actor, a.action) = ("ab".into(), "c".into());
        (b.actor, b.action) = ("a".into(), "bc".into());
        let hash_a = AuditEntry::linked(0, a, GENESIS_HASH).hash;
        let hash_b = AuditEntry::linked(0, b, GENESIS_HASH).hash;
        assert_ne!(hash_a, hash_b);
    }

    // Proves only coordination spans become entries, ordered by end time, with their span id.
    #[test]
    fn spans_become_entries_in_end_order() {
        let span = |id: u64, name: &str, end: u64| SpanRecord {
            trace_id: 1,
            span_id: id,
            parent_span_id: None,
            name: name.into(),
            start_unix_ns: 0,
            end_unix_ns: end,
            status: SpanStatus::Unset,
            attributes: vec![("agent.id".into(), AttrValue::Str(format!("agent_{id}")))],
        };
        let spans = [
            span(1, "work.complete", 30),
            span(2, "work.progress", 20),
            span(3, "work.claim", 10),
        ];
        let mut log = AuditLog::new();
        log.append_spans(&spans);
        let names: Vec<&str> = log
            .entries()
            .iter()
            .map(|e| e.record.action.as_str())
            .collect();
        assert_eq!(names, ["work.claim", "work.complete"]);
        assert_eq!(log.entries()[0].record.source, "0000000000000003");
        assert_eq!(log.entries()[0].record.actor, "agent_3");
    }
}
