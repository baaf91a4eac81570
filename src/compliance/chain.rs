//! Verifying an exported audit chain, and saying where it was tampered with.
//!
//! Entries are walked in order. An entry whose content no longer gives its hash was modified.
//! An entry whose `prev_hash` is not the hash before it is located by looking the hash up:
//! it names a later entry (reordered), an earlier one (the entries between were inserted), or
//! none (the entries it followed were deleted, or the entry before was rewritten with a fresh
//! hash). A head taken from the captured `audit.append` spans catches what no link can: a cut
//! tail, or a chain rewritten end to end.

use std::collections::HashMap;

use super::audit::{AuditEntry, AuditRecord, ChainHash, ChainHead, GENESIS_HASH};
use crate::error::{Error, Result};
use crate::telemetry::SpanRecord;

/// What is wrong at a break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainFault {
    /// The entry's content does not give its hash.
    Modified,
    /// The entry is self-consistent, but the next entry links to a different one: it was
    /// rewritten and re-hashed.
    Replaced,
    /// Entries are missing before this one.
    Deleted {
        /// How many sequence numbers are missing.
        missing_count: u64,
    },
    /// The entry belongs after a later entry.
    Reordered {
        /// The index of the entry it links to.
        belongs_after: usize,
    },
    /// Entries from here on do not belong to the chain.
    Inserted {
        /// How many were inserted.
        count: usize,
    },
    /// Links are intact but the sequence number is wrong.
    Sequence {
        /// What it should be.
        expected: u64,
        /// What it is.
        found: u64,
    },
    /// The chain ends before the head the evidence recorded.
    Truncated {
        /// Length recorded in the evidence.
        length_expected: usize,
    },
    /// The chain goes on past the head the evidence recorded.
    Extended {
        /// Length recorded in the evidence.
        length_expected: usize,
    },
    /// The last hash is not the one the evidence recorded: rewritten end to end.
    HeadMismatch,
}

impl ChainFault {
    /// One word for feature files: `modified`, `replaced`, `deleted`, `reordered`,
    /// `inserted`, `sequence`, `truncated`, `extended`, `rewritten`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Modified => "modified",
            Self::Replaced => "replaced",
            Self::Deleted { .. } => "deleted",
            Self::Reordered { .. } => "reordered",
            Self::Inserted { .. } => "inserted",
            Self::Sequence { .. } => "sequence",
            Self::Truncated { .. } => "truncated",
            Self::Extended { .. } => "extended",
            Self::HeadMismatch => "rewritten",
        }
    }
}

/// The first place a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {index}: {}", describe(*fault))]
pub struct ChainBreak {
    /// Index of the entry where the break shows.
    pub index: usize,
    /// What is wrong there.
    pub fault: ChainFault,
}

fn describe(fault: ChainFault) -> String {
    match fault {
        ChainFault::Modified => "modified (its content no longer matches its hash)".into(),
        ChainFault::Replaced => "replaced (re-hashed; the next entry links elsewhere)".into(),
        ChainFault::Deleted { missing_count } => {
            format!("deleted (missing before it: {missing_count})")
        }
        ChainFault::Reordered { belongs_after } => {
            format!("reordered (it belongs after entry {belongs_after})")
        }
        ChainFault::Inserted { count } => format!("inserted (entries that do not belong: {count})"),
        ChainFault::Sequence { expected, found } => {
            format!("sequence {found} where {expected} belongs")
        }
        ChainFault::Truncated { length_expected } => {
            format!("truncated (the evidence recorded {length_expected} entries)")
        }
        ChainFault::Extended { length_expected } => {
            format!("extended (the evidence recorded only {length_expected} entries)")
        }
        ChainFault::HeadMismatch => "rewritten (the last hash is not the recorded head)".into(),
    }
}

fn broken<T>(index: usize, fault: ChainFault) -> Result<T, ChainBreak> {
    Err(ChainBreak { index, fault })
}

/// Checks every entry and link of `entries`, then (if given) that the chain ends at `head`.
pub fn verify_entries(
    entries: &[AuditEntry],
    head: Option<&ChainHead>,
) -> Result<ChainHead, ChainBreak> {
    let mut position: HashMap<ChainHash, usize> = HashMap::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        position.entry(entry.hash).or_insert(index);
    }
    let mut prev = GENESIS_HASH;
    for (index, entry) in entries.iter().enumerate() {
        if entry.expected_hash() != entry.hash {
            return broken(index, ChainFault::Modified);
        }
        if position
            .get(&entry.hash)
            .is_some_and(|&first| first < index)
        {
            // A replayed copy of an earlier entry.
            return broken(index, ChainFault::Inserted { count: 1 });
        }
        if entry.prev_hash != prev {
            return Err(locate_broken_link(entry, index, &position));
        }
        if entry.sequence != index as u64 {
            let (expected, found) = (index as u64, entry.sequence);
            return broken(index, ChainFault::Sequence { expected, found });
        }
        prev = entry.hash;
    }
    let found = ChainHead {
        length: entries.len(),
        hash: prev,
    };
    match head {
        Some(head) if found.length < head.length => {
            let length_expected = head.length;
            broken(found.length, ChainFault::Truncated { length_expected })
        }
        Some(head) if found.length > head.length => {
            let length_expected = head.length;
            broken(head.length, ChainFault::Extended { length_expected })
        }
        Some(head) if found.hash != head.hash => {
            broken(found.length.saturating_sub(1), ChainFault::HeadMismatch)
        }
        _ => Ok(found),
    }
}

/// Where the entry at `index`, whose `prev_hash` is not its predecessor's hash, really links:
/// to a later entry (reordered), an earlier one (those between were inserted), or nothing
/// (entries before it were deleted, or its predecessor was re-hashed).
fn locate_broken_link(
    entry: &AuditEntry,
    index: usize,
    position: &HashMap<ChainHash, usize>,
) -> ChainBreak {
    let expected_sequence = index as u64;
    let target = if entry.prev_hash == GENESIS_HASH {
        Some(None)
    } else {
        position.get(&entry.prev_hash).map(|&j| Some(j))
    };
    let (index, fault) = match target {
        Some(Some(j)) if j >= index => (index, ChainFault::Reordered { belongs_after: j }),
        Some(target) => {
            let first_foreign = target.map_or(0, |j| j + 1);
            let count = index - first_foreign;
            (first_foreign, ChainFault::Inserted { count })
        }
        None if entry.sequence > expected_sequence => {
            let missing_count = entry.sequence - expected_sequence;
            (index, ChainFault::Deleted { missing_count })
        }
        None if entry.sequence == expected_sequence && index > 0 => {
            (index - 1, ChainFault::Replaced)
        }
        None => {
            let (expected, found) = (expected_sequence, entry.sequence);
            (index, ChainFault::Sequence { expected, found })
        }
    };
    ChainBreak { index, fault }
}

/// The head the captured `audit.append` spans recorded: the highest sequence and its hash.
/// `None` when no audit span was captured (or its attributes are unreadable).
pub fn head_from_spans(spans: &[SpanRecord]) -> Option<ChainHead> {
    spans
        .iter()
        .filter(|span| span.name == "audit.append")
        .filter_map(|span| {
            let sequence: usize = span.attr_text("compliance.audit_sequence")?.parse().ok()?;
            let hash = ChainHash::from_hex(&span.attr_text("compliance.audit_hash")?)?;
            Some(ChainHead {
                length: sequence + 1,
                hash,
            })
        })
        .max_by_key(|head| head.length)
}

/// Ways to tamper with an exported chain, to prove verification catches each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Change an entry's outcome, leaving its hash.
    Modify,
    /// Change an entry's outcome and re-hash it.
    Rewrite,
    /// Remove an entry.
    Delete,
    /// Swap an entry with the next.
    Reorder,
    /// Insert a forged entry, correctly linked onto the one before.
    Insert,
    /// Drop the entry and everything after it.
    Truncate,
}

impl Tamper {
    /// The words a feature file uses, one per kind of tampering.
    pub const WORDS: [&'static str; 6] = [
        "modified",
        "rewritten",
        "deleted",
        "reordered",
        "inserted",
        "truncated",
    ];

    /// Parses the past participle a feature file uses (`modified`, `rewritten`, …).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "modified" => Self::Modify,
            "rewritten" => Self::Rewrite,
            "deleted" => Self::Delete,
            "reordered" => Self::Reorder,
            "inserted" => Self::Insert,
            "truncated" => Self::Truncate,
            _ => return None,
        })
    }

    /// Applies this tampering at `index` of `entries`.
    pub fn apply(self, entries: &mut Vec<AuditEntry>, index: usize) -> Result<()> {
        let needed = if self == Self::Reorder {
            index + 2
        } else {
            index + 1
        };
        if entries.len() < needed {
            return Err(Error::NoEvidence(format!(
                "the audit log has {} entries; tampering at {index} needs {needed}",
                entries.len()
            )));
        }
        let forged = "forged".to_owned();
        match self {
            Self::Modify => entries[index].record.outcome = forged,
            Self::Rewrite => {
                entries[index].record.outcome = forged;
                entries[index].hash = entries[index].expected_hash();
            }
            Self::Delete => {
                entries.remove(index);
            }
            Self::Reorder => entries.swap(index, index + 1),
            Self::Insert => {
                let prev = index
                    .checked_sub(1)
                    .map_or(GENESIS_HASH, |i| entries[i].hash);
                let record = AuditRecord {
                    outcome: forged,
                    ..entries[index].record.clone()
                };
                entries.insert(index, AuditEntry::linked(index as u64, record, prev));
            }
            Self::Truncate => entries.truncate(index),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::audit::AuditLog;

    fn log_of(length: u64) -> AuditLog {
        let mut log = AuditLog::new();
        for n in 0..length {
            log.append(AuditRecord {
                at_unix_ns: n,
                actor: format!("agent_{n}"),
                action: "work.claim".into(),
                subject: format!("work_{n}"),
                outcome: "claimed".into(),
                source: "test".into(),
            });
        }
        log
    }

    fn check(tamper: Tamper, index: usize) -> (usize, &'static str) {
        let log = log_of(8);
        let head = log.head();
        let mut entries = log.entries().to_vec();
        tamper
            .apply(&mut entries, index)
            .unwrap_or_else(|e| panic!("{e}"));
        match verify_entries(&entries, Some(&head)) {
            Err(found) => (found.index, found.fault.name()),
            Ok(_) => (usize::MAX, "undetected"),
        }
    }

    // Proves every kind of tampering, at the start, middle and end, is found and located.
    #[test]
    fn every_tampering_is_located() {
        for index in [0, 3, 6] {
            assert_eq!(check(Tamper::Modify, index), (index, "modified"));
            assert_eq!(check(Tamper::Rewrite, index), (index, "replaced"));
            assert_eq!(check(Tamper::Delete, index), (index, "deleted"));
            assert_eq!(check(Tamper::Reorder, index), (index, "reordered"));
            assert_eq!(check(Tamper::Insert, index), (index, "inserted"));
            assert_eq!(check(Tamper::Truncate, index), (index, "truncated"));
        }
        // Without an anchor a rewritten last entry links to nothing after it; the head finds it.
        assert_eq!(check(Tamper::Rewrite, 7), (7, "rewritten"));
        assert_eq!(check(Tamper::Delete, 7), (7, "truncated"));
    }

    // Proves an intact chain verifies, with and without its head, and a stale head is caught.
    #[test]
    fn intact_chain_verifies_and_head_is_checked() {
        let log = log_of(4);
        let head = log.head();
        assert_eq!(verify_entries(log.entries(), Some(&head)), Ok(head));
        assert_eq!(verify_entries(&[], None).map(|h| h.length), Ok(0));
        let stale = ChainHead {
            length: 3,
            hash: log.entries()[2].hash,
        };
        let fault = verify_entries(log.entries(), Some(&stale)).map_err(|b| b.fault.name());
        assert_eq!(fault, Err("extended"));
    }

    // Proves a replayed copy of an earlier entry is reported as inserted where it appears.
    #[test]
    fn replayed_entry_is_inserted() {
        let log = log_of(5);
        let mut entries = log.entries().to_vec();
        entries.insert(4, entries[1].clone());
        let found = verify_entries(&entries, None).err();
        assert_eq!(
            found.map(|b| (b.index, b.fault.name())),
            Some((4, "inserted"))
        );
    }
}
