//! Canaries: fake credentials of every kind the scanner knows, generated from a seed at run
//! time and planted in a scratch directory, so a scan can be shown to find each kind (and to
//! keep it out of its output) without a real-looking secret ever being committed.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::secrets::SecretRule;
use crate::error::{Error, Result};

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Lines of harmless configuration written before each canary, so line numbers are not all 1.
const FILLER_LINES: [&str; 3] = ["# service settings", "name = demo", "replicas = 3"];

/// Draws before a canary that a rule must accept (digits present, entropy high) gives up.
const DRAW_COUNT_MAX: usize = 64;

fn random_text(rng: &mut ChaCha8Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

/// Random text `rule` accepts as a secret (a draw without a digit is not one, unquoted), so
/// every seed's canary is findable; past `DRAW_COUNT_MAX` draws, the last one.
fn accepted_text(rng: &mut ChaCha8Rng, rule: SecretRule, len: usize, quoted: bool) -> String {
    let mut text = random_text(rng, ALPHANUMERIC, len);
    for _ in 1..DRAW_COUNT_MAX {
        if rule.accepts(&text, quoted) {
            break;
        }
        text = random_text(rng, ALPHANUMERIC, len);
    }
    text
}

/// A fake secret of one kind: the line to plant and the value the scanner must find.
#[derive(Clone, PartialEq, Eq)]
pub struct Canary {
    /// The rule that must find it.
    pub rule: SecretRule,
    /// The text to write (may span lines, for a key block).
    pub text: String,
    /// The secret inside `text`, as the rule extracts it.
    pub value: String,
}

impl fmt::Debug for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Fake, but printed nowhere all the same: a canary in a log looks like a leak.
        write!(f, "Canary({}, {} chars)", self.rule, self.value.len())
    }
}

/// At least one canary per text rule (two assignments: quoted and not), deterministic for
/// `seed`.
pub fn canaries(seed: u64) -> Vec<Canary> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let unquoted = accepted_text(&mut rng, SecretRule::HighEntropyAssignment, 24, false);
    let bare = accepted_text(&mut rng, SecretRule::HighEntropyString, 48, true);
    let mut text = |alphabet, len| random_text(&mut rng, alphabet, len);
    let key_kind = "RSA";
    let key_body: Vec<String> = (0..3).map(|_| text(BASE64, 64)).collect();
    let key_block = format!(
        "-----BEGIN {key_kind} PRIVATE KEY-----\n{}\n-----END {key_kind} PRIVATE KEY-----",
        key_body.join("\n")
    );
    let password = text(ALPHANUMERIC, 18);
    let assigned = text(ALPHANUMERIC, 32);
    let fine_grained = format!(
        "github_pat_{}_{}",
        text(ALPHANUMERIC, 22),
        text(ALPHANUMERIC, 59)
    );
    let plain = |rule, value: String| Canary {
        rule,
        text: format!("credential = {value}"),
        value,
    };
    vec![
        plain(
            SecretRule::AwsAccessKey,
            format!("AKIA{}", text(UPPER_BASE32, 16)),
        ),
        Canary {
            rule: SecretRule::PrivateKey,
            text: key_block.clone(),
            value: key_block,
        },
        plain(
            SecretRule::GithubToken,
            format!("ghp_{}", text(ALPHANUMERIC, 36)),
        ),
        plain(
            SecretRule::SlackToken,
            format!(
                "xoxb-{}-{}",
                text(b"0123456789", 12),
                text(ALPHANUMERIC, 24)
            ),
        ),
        plain(SecretRule::ApiKey, format!("sk-{}", text(ALPHANUMERIC, 40))),
        Canary {
            rule: SecretRule::UrlPassword,
            text: format!("remote = https://deploy:{password}@git.internal/app.git"),
            value: password,
        },
        Canary {
            rule: SecretRule::HighEntropyAssignment,
            text: format!("client_secret = \"{assigned}\""),
            value: assigned,
        },
        plain(SecretRule::GithubFineGrainedToken, fine_grained),
        Canary {
            rule: SecretRule::HighEntropyAssignment,
            text: format!("DB_PASSWORD={unquoted}"),
            value: unquoted,
        },
        Canary {
            rule: SecretRule::HighEntropyString,
            text: format!("session blob {bare} (base62)"),
            value: bare,
        },
    ]
}

/// A canary as planted: which file, which line.
#[derive(Clone, PartialEq, Eq)]
pub struct Planted {
    /// Path relative to the scratch directory, `/`-separated.
    pub path: String,
    /// 1-based line of the secret's first character.
    pub line: usize,
    /// The canary.
    pub canary: Canary,
}

impl fmt::Debug for Planted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Planted({}:{} {:?})", self.path, self.line, self.canary)
    }
}

/// A directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

static SCRATCH_COUNT: AtomicU64 = AtomicU64::new(0);

impl ScratchDir {
    /// A fresh, empty directory.
    pub fn new() -> Result<Self> {
        Self::new_in(&std::env::temp_dir())
    }

    /// A fresh, empty directory inside `parent`.
    pub fn new_in(parent: &Path) -> Result<Self> {
        let n = SCRATCH_COUNT.fetch_add(1, Ordering::Relaxed);
        let name = format!("swarmspec-scratch-{}-{n}", std::process::id());
        let path = parent.join(name);
        let write_error = |source| Error::WriteFile {
            path: path.clone(),
            source,
        };
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(write_error)?;
        }
        std::fs::create_dir_all(&path).map_err(write_error)?;
        Ok(Self { path })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `relative` inside the directory. `relative` may not leave it: only
    /// plain path segments are accepted.
    pub fn write(&self, relative: &str, text: &str) -> Result<PathBuf> {
        let inside = Path::new(relative)
            .components()
            .all(|part| matches!(part, Component::Normal(_)));
        let path = self.path.join(relative);
        let write_error = |source| Error::WriteFile {
            path: path.clone(),
            source,
        };
        if !inside || relative.is_empty() {
            let message = "the path must stay inside the scratch directory";
            return Err(write_error(std::io::Error::other(message)));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        std::fs::write(&path, text).map_err(write_error)?;
        Ok(path)
    }

    /// Plants each of `canaries(seed)` in its own file under `planted/`, after a few filler
    /// lines, and says where each one is.
    pub fn plant(&self, seed: u64) -> Result<Vec<Planted>> {
        canaries(seed)
            .into_iter()
            .enumerate()
            .map(|(i, canary)| {
                let filler_count = i % (FILLER_LINES.len() + 1);
                let mut text = FILLER_LINES[..filler_count].join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&canary.text);
                text.push('\n');
                let path = format!("planted/{i:02}-{}.conf", canary.rule.id());
                self.write(&path, &text)?;
                let line = filler_count + 1;
                Ok(Planted { path, line, canary })
            })
            .collect()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp directory is untidy, not wrong.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::secrets::SecretScanner;

    // Proves the scanner finds every planted kind at its file and line, and prints none of them.
    #[test]
    fn every_planted_kind_is_found_and_redacted() {
        let dir = ScratchDir::new().unwrap_or_else(|e| panic!("{e}"));
        let planted = dir.plant(11).unwrap_or_else(|e| panic!("{e}"));
        let report = SecretScanner::new()
            .scan_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.findings.len(), planted.len(), "{report}");
        for plant in &planted {
            let found = report.findings.iter().any(|f| {
                (f.path.as_str(), f.line, f.rule)
                    == (plant.path.as_str(), plant.line, plant.canary.rule)
            });
            assert!(found, "{plant:?} not in {report}");
        }
        let printed = format!(
            "{report}\n{report:?}\n{}",
            serde_json::to_string(&report).unwrap_or_default()
        );
        for plant in &planted {
            assert!(
                !printed.contains(&plant.canary.value),
                "{:?} leaked",
                plant.canary
            );
        }
    }

    // Proves a scratch write cannot escape its directory.
    #[test]
    fn scratch_write_stays_inside() {
        let dir = ScratchDir::new().unwrap_or_else(|e| panic!("{e}"));
        assert!(dir.write("../escaped.txt", "x").is_err());
        assert!(dir.write("/tmp/escaped.txt", "x").is_err());
        assert!(dir.write("ok/inside.txt", "x").is_ok());
    }

    // Proves the committed sources and features hold nothing the scanner would report.
    #[test]
    fn repository_has_no_secrets() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let scanner = SecretScanner::new();
        for dir in ["src", "steps", "features", "tests"] {
            let report = scanner
                .scan_dir(&root.join(dir))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(report.findings.is_empty(), "{dir}: {report}");
        }
    }
}
