//! The secret scanner: finds credentials in text and files and reports where, never what.
//!
//! A `Finding` holds the location, the rule, a redacted form and a fingerprint (a truncated
//! SHA-256 of rule and secret): the secret itself never enters it, so no `Display`, `Debug`
//! or serialisation of a finding or report can print it. Specific rules run before the
//! generic high-entropy rule, and a span of text is reported at most once.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Below this many bits of Shannon entropy per character, a value assigned to a `secret`,
/// `token` or `password` is taken for a placeholder (`changeme-changeme`) rather than a key.
pub const ENTROPY_BITS_PER_CHAR_MIN: f64 = 3.5;
/// Files larger than this are skipped (and counted): secrets live in config, not in dumps.
pub const FILE_LEN_MAX_BYTES: u64 = 1024 * 1024;
/// Bound on the files one directory scan reads.
pub const FILE_COUNT_MAX: usize = 10_000;
/// Hex digits of a fingerprint.
const FINGERPRINT_HEX_DIGITS: usize = 16;

/// The kinds of secret the scanner knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SecretRule {
    /// `AKIA…`/`ASIA…` access key ids.
    AwsAccessKey,
    /// `-----BEGIN … PRIVATE KEY-----` blocks.
    PrivateKey,
    /// GitHub tokens (`ghp_…`, `gho_…`, …).
    GithubToken,
    /// Slack tokens (`xoxb-…`, `xoxa-…`, `xoxp-…`).
    SlackToken,
    /// `sk-…` API keys.
    ApiKey,
    /// A password inside a URL (`scheme://user:<password>@host`); a template placeholder such
    /// as `{password}` or `${PASSWORD}` is not a password and does not match.
    UrlPassword,
    /// A high-entropy value assigned to a secret-sounding name.
    HighEntropyAssignment,
}

impl SecretRule {
    /// Every rule, specific ones first: the order in which they claim text.
    pub const ALL: [SecretRule; 7] = [
        Self::PrivateKey,
        Self::AwsAccessKey,
        Self::GithubToken,
        Self::SlackToken,
        Self::ApiKey,
        Self::UrlPassword,
        Self::HighEntropyAssignment,
    ];

    /// The rule id printed in reports and written in feature files.
    pub fn id(self) -> &'static str {
        match self {
            Self::AwsAccessKey => "aws-access-key",
            Self::PrivateKey => "private-key",
            Self::GithubToken => "github-token",
            Self::SlackToken => "slack-token",
            Self::ApiKey => "api-key",
            Self::UrlPassword => "url-password",
            Self::HighEntropyAssignment => "high-entropy-assignment",
        }
    }

    /// Bytes of the secret that are a public, fixed prefix (`AKIA`, `ghp_`) and may be shown.
    fn public_prefix_len_bytes(self) -> usize {
        match self {
            Self::AwsAccessKey | Self::GithubToken => 4,
            Self::SlackToken => 5,
            Self::ApiKey => 3,
            Self::PrivateKey | Self::UrlPassword | Self::HighEntropyAssignment => 0,
        }
    }

    /// The pattern; the secret is capture group `secret`.
    fn pattern(self) -> &'static str {
        match self {
            Self::AwsAccessKey => r"\b(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b",
            Self::PrivateKey => {
                r"(?s)(?P<secret>-----BEGIN[ A-Z0-9]*PRIVATE KEY-----(?:.*?-----END[ A-Z0-9]*PRIVATE KEY-----)?)"
            }
            Self::GithubToken => r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})\b",
            Self::SlackToken => r"\b(?P<secret>xox[bapr]-[A-Za-z0-9-]{10,})",
            Self::ApiKey => r"\b(?P<secret>sk-[A-Za-z0-9_-]{20,})",
            Self::UrlPassword => {
                r"\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]+:(?P<secret>[^@/\s{}$<>%]+)@[^\s/]+"
            }
            Self::HighEntropyAssignment => {
                r#"(?i)[a-z0-9_.-]*(?:secret|token|passw(?:or)?d|api_?key|access_?key|private_?key|credential)[a-z0-9_.-]*["']?\s*[:=]\s*["'](?P<secret>[^"'\s]{16,})["']"#
            }
        }
    }
}

impl fmt::Display for SecretRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

static RULES: LazyLock<Vec<(SecretRule, Regex)>> = LazyLock::new(|| {
    SecretRule::ALL
        .into_iter()
        .map(|rule| {
            // The patterns are constants: one that does not compile is a bug in this file.
            let regex = Regex::new(rule.pattern()).expect("secret rule patterns are valid");
            (rule, regex)
        })
        .collect()
});

/// Shannon entropy of `text`, in bits per character.
pub fn entropy_bits_per_char(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0usize;
    for character in text.chars() {
        *counts.entry(character).or_insert(0usize) += 1;
        total += 1;
    }
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

/// The fingerprint of a secret found by `rule`: stable across files and lines, so a known
/// false positive can be allow-listed once.
pub fn fingerprint(rule: SecretRule, secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(rule.id())
        .chain_update([0u8])
        .chain_update(secret)
        .finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    hex[..FINGERPRINT_HEX_DIGITS].to_owned()
}

fn redact(rule: SecretRule, secret: &str) -> String {
    let shown = secret.get(..rule.public_prefix_len_bytes()).unwrap_or("");
    let hidden_count = secret.chars().count() - shown.chars().count();
    format!("{shown}…[{hidden_count} chars redacted]")
}

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

/// One secret found: where, by which rule, redacted. Holds no part of the secret beyond the
/// rule's public prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The file (relative to the scanned root) or label of the text.
    pub path: String,
    /// 1-based line of the secret's first character.
    pub line: usize,
    /// 1-based column (in characters) of the secret's first character.
    pub column: usize,
    /// The rule that matched.
    pub rule: SecretRule,
    /// The secret, redacted.
    pub redacted: String,
    /// Truncated SHA-256 of rule and secret, for allow-listing.
    pub fingerprint: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{} {} {} (fingerprint {})",
            self.path, self.line, self.column, self.rule, self.redacted, self.fingerprint
        )
    }
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
    /// Files skipped for size or for the file-count bound.
    pub files_skipped: usize,
}

impl ScanReport {
    fn merge(&mut self, other: ScanReport) {
        self.findings.extend(other.findings);
        self.suppressed_count += other.suppressed_count;
        self.files_scanned += other.files_scanned;
        self.files_skipped += other.files_skipped;
    }
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} secrets in {} files ({} allow-listed, {} files skipped)",
            self.findings.len(),
            self.files_scanned,
            self.suppressed_count,
            self.files_skipped
        )?;
        self.findings
            .iter()
            .try_for_each(|finding| write!(f, "\n  {finding}"))
    }
}

/// The scanner: the rules, an allow-list and the entropy threshold.
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
        for (rule, regex) in RULES.iter() {
            for captures in regex.captures_iter(text) {
                let Some(found) = captures.name("secret") else {
                    continue;
                };
                let range = found.range();
                if claimed
                    .iter()
                    .any(|c| c.start < range.end && range.start < c.end)
                {
                    continue;
                }
                let secret = found.as_str();
                let low_entropy = *rule == SecretRule::HighEntropyAssignment
                    && entropy_bits_per_char(secret) < ENTROPY_BITS_PER_CHAR_MIN;
                if low_entropy {
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
                    redacted: redact(*rule, secret),
                    fingerprint,
                });
            }
        }
        report.findings.sort();
        report
    }

    /// Scans one file (bytes that are not UTF-8 are replaced, so binaries cannot stop a scan).
    pub fn scan_file(&self, path: &Path, label: &str) -> Result<ScanReport> {
        let read_error = |source| Error::ReadFile {
            path: path.to_path_buf(),
            source,
        };
        if std::fs::metadata(path).map_err(read_error)?.len() > FILE_LEN_MAX_BYTES {
            return Ok(ScanReport {
                files_skipped: 1,
                ..ScanReport::default()
            });
        }
        let bytes = std::fs::read(path).map_err(read_error)?;
        Ok(self.scan_text(label, &String::from_utf8_lossy(&bytes)))
    }

    /// Scans every file under `root` in name order, skipping hidden entries and `target`;
    /// findings name paths relative to `root`, with `/` separators.
    pub fn scan_dir(&self, root: &Path) -> Result<ScanReport> {
        let mut report = ScanReport::default();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let read_error = |source| Error::ReadFile {
                path: dir.clone(),
                source,
            };
            let mut children: Vec<_> = std::fs::read_dir(&dir)
                .map_err(read_error)?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<_>>()
                .map_err(read_error)?;
            children.sort();
            for child in children.into_iter().rev() {
                let name = child.file_name().map(|n| n.to_string_lossy().into_owned());
                if name
                    .as_deref()
                    .is_none_or(|n| n.starts_with('.') || n == "target")
                {
                    continue;
                }
                if child.is_dir() {
                    pending.push(child);
                } else if report.files_scanned >= FILE_COUNT_MAX {
                    report.files_skipped += 1;
                } else {
                    let relative = child.strip_prefix(root).unwrap_or(&child);
                    let label = relative.to_string_lossy().replace('\\', "/");
                    report.merge(self.scan_file(&child, &label)?);
                }
            }
        }
        report.findings.sort();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::canary::canaries;

    fn scan(text: &str) -> ScanReport {
        SecretScanner::new().scan_text("t.conf", text)
    }

    // Proves each rule finds its canary, at the right line and column, and reports it once.
    #[test]
    fn each_rule_finds_its_canary_once() {
        for canary in canaries(3) {
            let text = format!("first line\n  {}\n", canary.text);
            let report = scan(&text);
            let found: Vec<_> = report.findings.iter().map(|f| (f.rule, f.line)).collect();
            assert_eq!(found, [(canary.rule, 2)], "{:?}: {report}", canary);
            let column = text
                .lines()
                .nth(1)
                .and_then(|line| line.find(&canary.value[..8]));
            assert_eq!(Some(report.findings[0].column - 1), column, "{canary:?}");
        }
    }

    // Proves the allow-list suppresses marked placeholders and listed fingerprints, and counts them.
    #[test]
    fn allow_list_suppresses_and_counts() {
        let placeholder = format!("key = AKIA{}", "IOSFODNN7EXAMPLE");
        let report = scan(&placeholder);
        assert_eq!((report.findings.len(), report.suppressed_count), (0, 1));
        let token = canaries(5).swap_remove(2);
        let mut scanner = SecretScanner::new();
        assert_eq!(scanner.scan_text("a", &token.text).findings.len(), 1);
        scanner
            .allow
            .fingerprints
            .insert(fingerprint(token.rule, &token.value));
        let report = scanner.scan_text("a", &token.text);
        assert_eq!((report.findings.len(), report.suppressed_count), (0, 1));
    }

    // Proves low-entropy placeholders and ordinary code are not reported as secrets.
    #[test]
    fn low_entropy_and_code_are_not_secrets() {
        let text = "password = \"changeme-changeme\"\nlet token_len = secret.len();\n\
                    url = https://host/path\ndb = postgres://app:${DB_PASSWORD}@db/app";
        assert!(scan(text).findings.is_empty(), "{}", scan(text));
        assert!(entropy_bits_per_char("aaaa") < 0.01);
        assert!((entropy_bits_per_char("abcd") - 2.0).abs() < 1e-9);
    }
}
