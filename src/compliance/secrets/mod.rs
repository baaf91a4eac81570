//! The secret scanner: finds credentials in text and files and reports where, never what.
//!
//! A `Finding` holds the location, the rule, a redacted form and a fingerprint (a truncated
//! SHA-256 of rule and secret): the secret itself never enters it, so no `Display`, `Debug`
//! or serialisation of a finding or report can print it. Specific rules run before the
//! generic high-entropy rules, and a span of text is reported at most once.
//!
//! A directory scan (`walk`) reads hidden entries too, never leaves the root (symlinks are
//! noted, not followed), skips what `.secretsignore` lists, and turns every entry it cannot
//! read into a finding instead of giving up, so a clean report means every byte was read.

mod rules;
mod walk;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
pub use rules::{
    entropy_bits_per_char, fingerprint, SecretRule, BARE_CLASS_CHANGE_RATIO_MIN,
    BARE_ENTROPY_BITS_PER_CHAR_MIN, BARE_LEN_MIN_CHARS, ENTROPY_BITS_PER_CHAR_MIN,
};
pub use walk::{
    DEFAULT_IGNORED, ENTRY_COUNT_MAX, FILE_COUNT_MAX, FILE_LEN_MAX_BYTES, IGNORE_FILE_NAME,
};

/// Notes a report prints before summarising the rest (JSON keeps them all).
const NOTES_SHOWN_MAX: usize = 20;

/// Known false positives: values containing a marker (`EXAMPLE` by default, as in vendor
/// documentation), or listed fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    /// A match containing any of these is a placeholder.
    pub markers: Vec<String>,
    /// Fingerprints of accepted matches.
    pub fingerprints: BTreeSet<String>,
}

impl Default for AllowList {
    fn default() -> Self {
        Self {
            markers: vec!["EXAMPLE".into()],
            fingerprints: BTreeSet::new(),
        }
    }
}

impl AllowList {
    fn allows(&self, secret: &str, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
            || self
                .markers
                .iter()
                .any(|marker| secret.contains(marker.as_str()))
    }
}

/// One secret found (or one entry that could not be read): where, by which rule, redacted.
/// Holds no part of the secret beyond the rule's public prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The file (relative to the scanned root) or label of the text.
    pub path: String,
    /// 1-based line of the secret's first character (0 for a finding about a whole entry).
    pub line: usize,
    /// 1-based column (in characters) of the secret's first character (0 for a whole entry).
    pub column: usize,
    /// The rule that matched.
    pub rule: SecretRule,
    /// The secret, redacted (for `Unreadable`, why the entry could not be read).
    pub redacted: String,
    /// Truncated SHA-256 of rule and secret (or path), for allow-listing.
    pub fingerprint: String,
}

impl Finding {
    /// An entry the scan could not read; `why` is the OS's reason (no content enters it).
    fn unreadable(path: &str, why: &std::io::Error) -> Self {
        Self {
            path: path.to_owned(),
            line: 0,
            column: 0,
            rule: SecretRule::Unreadable,
            redacted: format!("cannot be read: {why}"),
            fingerprint: fingerprint(SecretRule::Unreadable, path),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{} {} {}", self.path, self.rule, self.redacted);
        }
        write!(
            f,
            "{}:{}:{} {} {} (fingerprint {})",
            self.path, self.line, self.column, self.rule, self.redacted, self.fingerprint
        )
    }
}

/// Why an entry was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum SkipReason {
    /// Listed in the ignore file, or one of `DEFAULT_IGNORED`.
    Ignored,
    /// A symlink: not followed, so the scan never leaves the root nor reads a file twice
    /// (a target inside the root is scanned where it is).
    Symlink,
    /// A FIFO, socket or device (named): reading one can block forever or never end.
    Special(&'static str),
    /// Larger than `FILE_LEN_MAX_BYTES`.
    TooLarge,
    /// Past `FILE_COUNT_MAX` files or `ENTRY_COUNT_MAX` entries.
    CountBound,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ignored => write!(f, "ignored (default or {IGNORE_FILE_NAME})"),
            Self::Symlink => f.write_str("symlink, not followed"),
            Self::Special(kind) => write!(f, "{kind}, not a regular file"),
            Self::TooLarge => write!(f, "larger than {FILE_LEN_MAX_BYTES} bytes"),
            Self::CountBound => write!(
                f,
                "past the bound of {FILE_COUNT_MAX} files or {ENTRY_COUNT_MAX} entries"
            ),
        }
    }
}

/// An entry the scan did not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ScanNote {
    /// Path relative to the scanned root, `/`-separated.
    pub path: String,
    /// Why it was not read.
    pub reason: SkipReason,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    /// Findings, sorted by path, line and column.
    pub findings: Vec<Finding>,
    /// Matches the allow-list suppressed.
    pub suppressed_count: usize,
    /// Files (or texts) read.
    pub files_scanned: usize,
    /// Entries not read (each one is in `notes`).
    pub files_skipped: usize,
    /// Every entry not read, with the reason, sorted by path.
    pub notes: Vec<ScanNote>,
}

impl ScanReport {
    fn merge(&mut self, other: ScanReport) {
        self.findings.extend(other.findings);
        self.suppressed_count += other.suppressed_count;
        self.files_scanned += other.files_scanned;
        self.files_skipped += other.files_skipped;
        self.notes.extend(other.notes);
    }

    fn skip(&mut self, path: &str, reason: SkipReason) {
        self.files_skipped += 1;
        self.notes.push(ScanNote {
            path: path.to_owned(),
            reason,
        });
    }
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} secrets in {} files ({} allow-listed, {} entries skipped)",
            self.findings.len(),
            self.files_scanned,
            self.suppressed_count,
            self.files_skipped
        )?;
        for finding in &self.findings {
            write!(f, "\n  {finding}")?;
        }
        for note in self.notes.iter().take(NOTES_SHOWN_MAX) {
            write!(f, "\n  skipped {}: {}", note.path, note.reason)?;
        }
        match self.notes.len().checked_sub(NOTES_SHOWN_MAX) {
            Some(more) if more > 0 => write!(f, "\n  … and {more} more skipped"),
            _ => Ok(()),
        }
    }
}

/// The scanner: the rules and an allow-list.
#[derive(Debug, Clone, Default)]
pub struct SecretScanner {
    /// What not to report.
    pub allow: AllowList,
}

impl SecretScanner {
    /// A scanner with the default allow-list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scans `text`, reporting findings under `path`.
    pub fn scan_text(&self, path: &str, text: &str) -> ScanReport {
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut claimed: Vec<Range<usize>> = Vec::new();
        let mut report = ScanReport {
            files_scanned: 1,
            ..ScanReport::default()
        };
        for (rule, regex) in rules::RULES.iter() {
            for captures in regex.captures_iter(text) {
                let (found, quoted) = match (captures.name("secret"), captures.name("bare")) {
                    (Some(found), _) => (found, true),
                    (None, Some(found)) => (found, false),
                    (None, None) => continue,
                };
                let range = found.range();
                let overlaps = claimed
                    .iter()
                    .any(|c| c.start < range.end && range.start < c.end);
                let secret = found.as_str();
                if overlaps || !rule.accepts(secret, quoted) {
                    continue;
                }
                claimed.push(range.clone());
                let fingerprint = fingerprint(*rule, secret);
                if self.allow.allows(secret, &fingerprint) {
                    report.suppressed_count += 1;
                    continue;
                }
                let line_index = line_starts.partition_point(|&start| start <= range.start) - 1;
                let line_start = line_starts[line_index];
                report.findings.push(Finding {
                    path: path.to_owned(),
                    line: line_index + 1,
                    column: text[line_start..range.start].chars().count() + 1,
                    rule: *rule,
                    redacted: rules::redact(*rule, secret),
                    fingerprint,
                });
            }
        }
        report.findings.sort();
        report
    }

    /// Scans one file (bytes that are not UTF-8 are replaced, so binaries cannot stop a
    /// scan). A symlink is not followed and anything but a regular file is skipped with a
    /// note, as is a file over `FILE_LEN_MAX_BYTES` (read no further than that).
    pub fn scan_file(&self, path: &Path, label: &str) -> Result<ScanReport> {
        walk::scan_file(self, path, label)
    }

    /// Scans every entry under `root` (hidden ones too) in name order, but for those the
    /// root's `.secretsignore` or `DEFAULT_IGNORED` lists; findings name paths relative to
    /// `root`, with `/` separators. Only an unreadable root is an error: any other entry that
    /// cannot be read is an `Unreadable` finding, and the scan carries on.
    pub fn scan_dir(&self, root: &Path) -> Result<ScanReport> {
        walk::scan_dir(self, root)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod walk_tests;
