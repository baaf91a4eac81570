//! Audit of a coordination directory another tool (or a crashed run) left behind.
//!
//! It trusts nothing the files say about themselves: each file must parse, each entry must
//! have the layout's shape, and the files must agree with one another. Every finding names
//! the file and the entry (its index in the file, its item or agent id) and has a stable
//! kind (`kind::*`), so hundreds of them read as counts by kind first (`crate::findings`).
//!
//! Rules that keep a report to its root causes:
//!
//! - **A missing file is read as empty**, as the store itself reads it: a fresh directory,
//!   or one with claims but no completion logged yet, audits clean. A missing file is a
//!   finding (`missing_file`, one for the file) only when another file refers to something
//!   that would be in it: completed claims with no log, log entries with no claims, holders
//!   or completers with no `agent_status.json`. The per-entry checks against that file are
//!   then skipped, so the absence is said once rather than once per reference.
//! - **An unreadable file is one finding** (`unreadable_file`: cannot be read, empty, not a
//!   JSON array), and every check that compares another file with it is skipped: nothing
//!   can be said to be missing from a file that could not be read.
//! - **A malformed entry is one finding** (`malformed_entry`); its id, if it has one, still
//!   counts as present, so other files' references to it are not reported again.
//! - **Repeats are one finding per item**: an item completed ten times is one
//!   `duplicate_completion` naming the count, the agents and the entries.
//! - **No finding is reported twice**: findings are deduplicated by kind and subject.

mod claims;
mod log;
mod read;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

use self::read::{FileRead, Presence};
use super::layout::*;
use crate::evidence::Verdict;
use crate::findings::{Finding, Findings};
use crate::telemetry::SpanRecord;

/// The kinds of finding the audit reports: stable keys for counts, JSON and tests.
pub mod kind {
    /// A file exists but cannot be read, is empty, or is not a JSON array.
    pub const UNREADABLE_FILE: &str = "unreadable_file";
    /// An entry of a readable file lacks the layout's shape (a field missing or mistyped).
    pub const MALFORMED_ENTRY: &str = "malformed_entry";
    /// A file is absent although another file refers to what would be in it.
    pub const MISSING_FILE: &str = "missing_file";
    /// A writer died mid-commit: its redo journal is still in the directory.
    pub const INTERRUPTED_COMMIT: &str = "interrupted_commit";
    /// Two entries of one item both hold it, for different agents.
    pub const HELD_TWICE: &str = "held_twice";
    /// An item appears more than once in `work_claims.json` (without two holders).
    pub const DUPLICATE_CLAIM: &str = "duplicate_claim";
    /// An agent that is not in `agent_status.json` holds items (one finding per agent).
    pub const UNKNOWN_AGENT: &str = "unknown_agent";
    /// A completed item has no entry in `coordination_log.json`.
    pub const COMPLETION_MISSING_FROM_LOG: &str = "completion_missing_from_log";
    /// One stage of one item is logged as completed more than once.
    pub const DUPLICATE_COMPLETION: &str = "duplicate_completion";
    /// The log names an item `work_claims.json` does not have.
    pub const LOGGED_ITEM_NOT_CLAIMED: &str = "logged_item_not_claimed";
    /// Log entries name an agent not in `agent_status.json`, or none (one finding per agent).
    pub const COMPLETION_BY_UNKNOWN_AGENT: &str = "completion_by_unknown_agent";
    /// A claim's trace id names no trace in the span log (`--spans`).
    pub const UNTRACED_CLAIM: &str = "untraced_claim";
}

/// The three files as far as they could be read.
struct Files {
    claims: FileRead<WorkClaim>,
    agents: FileRead<AgentStatus>,
    log: FileRead<LogEntry>,
}

impl Files {
    fn read(dir: &Path, found: &mut Findings) -> Self {
        Self {
            claims: read::read(dir, WORK_CLAIMS_FILE, "work_item_id", found),
            agents: read::read(dir, AGENT_STATUS_FILE, "agent_id", found),
            log: read::read(dir, COORDINATION_LOG_FILE, "work_item_id", found),
        }
    }
}

/// Every finding in the directory, files in layout order.
pub fn audit_dir(dir: &Path) -> Findings {
    audit_dir_with_spans(dir, None)
}

/// Every finding in the directory and, when `spans` are given, every claim whose trace id
/// names none of their traces. The files are read once, so an unreadable file is one
/// finding however many checks wanted it.
pub fn audit_dir_with_spans(dir: &Path, spans: Option<&[SpanRecord]>) -> Findings {
    let mut found = Findings::new();
    let files = Files::read(dir, &mut found);
    if dir.join(super::journal::JOURNAL_FILE).exists() {
        found.push(Finding::new(
            kind::INTERRUPTED_COMMIT,
            super::journal::JOURNAL_FILE,
            "a writer died mid-commit: the files may disagree until the next transaction \
             finishes the commit",
        ));
    }
    missing_files(&files, &mut found);
    claims::check(&files, &mut found);
    log::check(&files, &mut found);
    if let Some(spans) = spans {
        claims::untraced(&files, spans, &mut found);
    }
    dedupe(found)
}

/// Claims whose recorded trace id (`telemetry.trace_id`) names no span in `spans`: the
/// tool said it traced the operation, but the span log has no trace of it. Claims with no
/// trace id are not judged (nothing was said). An unreadable `work_claims.json` is the one
/// finding then.
pub fn untraced_claims(dir: &Path, spans: &[SpanRecord]) -> Findings {
    let mut found = Findings::new();
    let files = Files {
        claims: read::read(dir, WORK_CLAIMS_FILE, "work_item_id", &mut found),
        agents: read::absent(),
        log: read::absent(),
    };
    claims::untraced(&files, spans, &mut found);
    found
}

/// The directory has no finding.
pub fn no_anomalies(dir: &Path) -> Verdict {
    no_anomalies_with_spans(dir, None)
}

/// The directory has no finding and, when `spans` are given, every claim's trace id names
/// one of their traces.
pub fn no_anomalies_with_spans(dir: &Path, spans: Option<&[SpanRecord]>) -> Verdict {
    verdict(dir, &audit_dir_with_spans(dir, spans))
}

/// The verdict `findings` give on `dir`: observed is the counts by kind, evidence every
/// finding with its kind (the verdict bounds how many it keeps).
pub fn verdict(dir: &Path, findings: &Findings) -> Verdict {
    let observed = if findings.is_empty() {
        "no findings".to_owned()
    } else {
        format!("{} findings: {}", findings.len(), findings.counts_line())
    };
    Verdict::new(
        format!("the coordination files in {} agree", dir.display()),
        findings.is_empty(),
        "no findings",
        observed,
        findings
            .findings
            .iter()
            .map(|f| format!("{}: {f}", f.kind))
            .collect(),
    )
}

/// One `missing_file` finding per absent file that another readable file refers into.
fn missing_files(files: &Files, found: &mut Findings) {
    let read_entries = |presence: Presence| presence == Presence::Read;
    if files.agents.absent() {
        let mut refs = Vec::new();
        if read_entries(files.claims.presence) {
            let holders = files.claims.entries.iter();
            let named: Vec<&str> = holders
                .filter_map(|(_, c)| c.agent_id.as_deref())
                .filter(|a| !a.is_empty())
                .collect();
            refs.push((WORK_CLAIMS_FILE, named));
        }
        if read_entries(files.log.presence) {
            let completers = files.log.entries.iter().map(|(_, l)| l.agent_id.as_str());
            refs.push((
                COORDINATION_LOG_FILE,
                completers.filter(|a| !a.is_empty()).collect(),
            ));
        }
        missing_file(AGENT_STATUS_FILE, "name agents", refs, found);
    }
    if files.log.absent() && read_entries(files.claims.presence) {
        let completed = files
            .claims
            .entries
            .iter()
            .filter(|(_, c)| c.status == STATUS_COMPLETED);
        let items = completed.map(|(_, c)| c.work_item_id.as_str()).collect();
        missing_file(
            COORDINATION_LOG_FILE,
            "are completed",
            vec![(WORK_CLAIMS_FILE, items)],
            found,
        );
    }
    if files.claims.absent() && read_entries(files.log.presence) {
        let items = files
            .log
            .entries
            .iter()
            .map(|(_, l)| l.work_item_id.as_str())
            .collect();
        missing_file(
            WORK_CLAIMS_FILE,
            "log items",
            vec![(COORDINATION_LOG_FILE, items)],
            found,
        );
    }
}

/// A `missing_file` finding for `file` if any of `refs` (referring file, ids it names) is
/// non-empty; `what` says what the references do (`name agents`).
fn missing_file(file: &str, what: &str, refs: Vec<(&str, Vec<&str>)>, found: &mut Findings) {
    let refs: Vec<(&str, Vec<&str>)> = refs
        .into_iter()
        .filter(|(_, ids)| !ids.is_empty())
        .collect();
    if refs.is_empty() {
        return;
    }
    let parts: Vec<String> = refs
        .iter()
        .map(|(from, ids)| {
            format!(
                "{} entr{} of {from}",
                ids.len(),
                if ids.len() == 1 { "y" } else { "ies" }
            )
        })
        .collect();
    let ids: BTreeSet<&str> = refs
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    found.push(Finding::new(
        kind::MISSING_FILE,
        file,
        format!(
            "does not exist, but {} {what}: {}",
            parts.join(" and "),
            listed(ids, 12)
        ),
    ));
}

/// `findings` with each (kind, subject) kept once, first occurrence first.
fn dedupe(findings: Findings) -> Findings {
    let mut seen = BTreeSet::new();
    findings
        .findings
        .into_iter()
        .filter(|f| seen.insert((f.kind.clone(), f.subject.clone())))
        .collect()
}

/// `1 entry (3: w2)` or `2 entries (3: w2, 7: w5)`: entries by index and id, at most a
/// dozen named.
fn entries_text(entries: &[(usize, &str)]) -> String {
    let noun = if entries.len() == 1 {
        "entry"
    } else {
        "entries"
    };
    let named = entries.iter().map(|(index, id)| format!("{index}: {id}"));
    format!("{} {noun} ({})", entries.len(), listed(named, 12))
}

/// `a, b, c` for at most `max` items, then how many more.
fn listed<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, max: usize) -> String {
    let mut shown = Vec::new();
    let mut more = 0usize;
    for item in items {
        if shown.len() < max {
            shown.push(item.to_string());
        } else {
            more += 1;
        }
    }
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}
