//! The rules: what each kind of secret looks like, how a match is judged a secret (entropy,
//! character mix), how it is fingerprinted and redacted.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Below this many bits of Shannon entropy per character, a value assigned to a `secret`,
/// `token` or `password` is taken for a placeholder (`changeme-changeme`) rather than a key.
pub const ENTROPY_BITS_PER_CHAR_MIN: f64 = 3.5;
/// A bare string (assigned to no telling name) must be at least this long: shorter random
/// runs are too common in ordinary text (ids, hashes' prefixes) to report without a name.
pub const BARE_LEN_MIN_CHARS: usize = 32;
/// Entropy a bare string needs. Random base62 text of 32 characters has about 4.5 bits per
/// character (99 % of them above 4.08); English identifiers of that length sit near 4.1–4.4,
/// which is why the character-class test below is needed as well.
pub const BARE_ENTROPY_BITS_PER_CHAR_MIN: f64 = 3.9;
/// Share of neighbouring characters of different classes (upper, lower, digit, symbol) a
/// bare string needs: about 0.62 in random base62 text, near 0.3 in CamelCase identifiers
/// (which change class only at word starts).
pub const BARE_CLASS_CHANGE_RATIO_MIN: f64 = 0.45;
/// Hex digits of a fingerprint.
const FINGERPRINT_HEX_DIGITS: usize = 16;

/// The kinds of finding the scanner reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SecretRule {
    /// `AKIA…`/`ASIA…` access key ids.
    AwsAccessKey,
    /// `-----BEGIN … PRIVATE KEY-----` blocks.
    PrivateKey,
    /// GitHub fine-grained personal access tokens (`github_pat_…`).
    GithubFineGrainedToken,
    /// GitHub tokens (`ghp_…`, `gho_…`, …).
    GithubToken,
    /// Slack tokens (`xoxb-…`, `xoxa-…`, `xoxp-…`).
    SlackToken,
    /// `sk-…` API keys.
    ApiKey,
    /// A password inside a URL (`scheme://user:<password>@host`); a template placeholder such
    /// as `{password}` or `${PASSWORD}` is not a password and does not match.
    UrlPassword,
    /// A high-entropy value assigned to a secret-sounding name, quoted (`token = "…"`) or
    /// not (`DB_PASSWORD=…`, `password: …`).
    HighEntropyAssignment,
    /// A long random-looking string standing alone: mixed case and digits, high entropy.
    HighEntropyString,
    /// Not a secret but a hole in the scan: an entry that could not be read, so the scan
    /// cannot say it holds none.
    Unreadable,
}

impl SecretRule {
    /// Every text rule, specific ones first: the order in which they claim text.
    pub const ALL: [SecretRule; 9] = [
        Self::PrivateKey,
        Self::AwsAccessKey,
        Self::GithubFineGrainedToken,
        Self::GithubToken,
        Self::SlackToken,
        Self::ApiKey,
        Self::UrlPassword,
        Self::HighEntropyAssignment,
        Self::HighEntropyString,
    ];

    /// The rule id printed in reports and written in feature files.
    pub fn id(self) -> &'static str {
        match self {
            Self::AwsAccessKey => "aws-access-key",
            Self::PrivateKey => "private-key",
            Self::GithubFineGrainedToken => "github-fine-grained-token",
            Self::GithubToken => "github-token",
            Self::SlackToken => "slack-token",
            Self::ApiKey => "api-key",
            Self::UrlPassword => "url-password",
            Self::HighEntropyAssignment => "high-entropy-assignment",
            Self::HighEntropyString => "high-entropy-string",
            Self::Unreadable => "unreadable",
        }
    }

    /// Bytes of the secret that are a public, fixed prefix (`AKIA`, `ghp_`) and may be shown.
    fn public_prefix_len_bytes(self) -> usize {
        match self {
            Self::AwsAccessKey | Self::GithubToken => 4,
            Self::GithubFineGrainedToken => "github_pat_".len(),
            Self::SlackToken => 5,
            Self::ApiKey => 3,
            Self::PrivateKey
            | Self::UrlPassword
            | Self::HighEntropyAssignment
            | Self::HighEntropyString
            | Self::Unreadable => 0,
        }
    }

    /// The pattern; the secret is capture group `secret` (or `bare`, for an unquoted value).
    /// `Unreadable` matches no text.
    fn pattern(self) -> Option<&'static str> {
        Some(match self {
            Self::AwsAccessKey => r"\b(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b",
            Self::PrivateKey => {
                r"(?s)(?P<secret>-----BEGIN[ A-Z0-9]*PRIVATE KEY-----(?:.*?-----END[ A-Z0-9]*PRIVATE KEY-----)?)"
            }
            Self::GithubFineGrainedToken => r"\b(?P<secret>github_pat_[A-Za-z0-9_]{22,255})\b",
            Self::GithubToken => r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})\b",
            Self::SlackToken => r"\b(?P<secret>xox[bapr]-[A-Za-z0-9-]{10,})",
            Self::ApiKey => r"\b(?P<secret>sk-[A-Za-z0-9_-]{20,})",
            Self::UrlPassword => {
                r"\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]+:(?P<secret>[^@/\s{}$<>%]+)@[^\s/]+"
            }
            // A quoted value may hold any non-space character; an unquoted one must look
            // like a token and end the line or the statement, so `token = read_token(x)`
            // (code) is not a value.
            Self::HighEntropyAssignment => {
                r#"(?im)[a-z0-9_.-]*(?:secret|token|passw(?:or)?d|api_?key|access_?key|private_?key|credential)[a-z0-9_.-]*["']?[ \t]*[:=][ \t]*(?:["'](?P<secret>[^"'\s]{16,})["']|(?P<bare>[A-Za-z0-9+/_~.-]{16,})(?:[ \t;,#]|$))"#
            }
            Self::HighEntropyString => r"(?P<secret>[A-Za-z0-9+/_-]{32,})",
            Self::Unreadable => return None,
        })
    }

    /// Whether a match of this rule is a secret rather than a placeholder or an identifier.
    pub fn accepts(self, matched: &str, quoted: bool) -> bool {
        match self {
            Self::HighEntropyAssignment if quoted => {
                entropy_bits_per_char(matched) >= ENTROPY_BITS_PER_CHAR_MIN
            }
            // Unquoted, `settings.password_from_vault` is code: a value needs a digit too.
            Self::HighEntropyAssignment => {
                entropy_bits_per_char(matched) >= ENTROPY_BITS_PER_CHAR_MIN
                    && matched.bytes().any(|b| b.is_ascii_digit())
                    && matched.bytes().any(|b| b.is_ascii_alphabetic())
            }
            Self::HighEntropyString => looks_random(matched),
            _ => true,
        }
    }
}

impl fmt::Display for SecretRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Each text rule with its compiled pattern, in claiming order.
pub(super) static RULES: LazyLock<Vec<(SecretRule, Regex)>> = LazyLock::new(|| {
    SecretRule::ALL
        .into_iter()
        .filter_map(|rule| {
            // The patterns are constants: one that does not compile is a bug in this file.
            let regex = Regex::new(rule.pattern()?).expect("secret rule patterns are valid");
            Some((rule, regex))
        })
        .collect()
});

/// Upper, lower, digit or other: the classes a random string keeps switching between.
fn class(byte: u8) -> u8 {
    match byte {
        b'A'..=b'Z' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    }
}

/// A bare string is reported when it mixes upper case, lower case and digits, switches
/// class often (unlike words) and has high entropy (unlike hex digests, which also lack
/// upper case).
fn looks_random(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < BARE_LEN_MIN_CHARS {
        return false;
    }
    let has = |wanted| bytes.iter().any(|&b| class(b) == wanted);
    let changes = bytes
        .windows(2)
        .filter(|pair| class(pair[0]) != class(pair[1]))
        .count();
    let change_ratio = changes as f64 / (bytes.len() - 1) as f64;
    has(0)
        && has(1)
        && has(2)
        && change_ratio >= BARE_CLASS_CHANGE_RATIO_MIN
        && entropy_bits_per_char(text) >= BARE_ENTROPY_BITS_PER_CHAR_MIN
}

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

/// The public prefix and a count: all a report may say of a secret.
pub(super) fn redact(rule: SecretRule, secret: &str) -> String {
    let shown = secret.get(..rule.public_prefix_len_bytes()).unwrap_or("");
    let hidden_count = secret.chars().count() - shown.chars().count();
    format!("{shown}…[{hidden_count} chars redacted]")
}
