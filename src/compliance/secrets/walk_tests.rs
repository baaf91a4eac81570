//! The directory walk against hostile trees: hidden entries, an ignore file, symlinks out of
//! the root and in loops, special files, unreadable entries, and redaction in every output.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::compliance::controls;

/// Long enough for a FIFO that blocks `open` to show up as a hang, short enough for a test.
const SCAN_TIMEOUT: Duration = Duration::from_secs(20);

/// Random text of `len` characters from `alphabet`, so no test source holds a secret.
fn random(seed: u64, alphabet: &[u8], len: usize) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn aws_key(seed: u64) -> String {
    format!(
        "AKIA{}",
        random(seed, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    )
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Scans `root` on a thread, failing the test (instead of hanging it) past `SCAN_TIMEOUT`.
fn scan_within_timeout(root: &Path) -> ScanReport {
    let (send, receive) = mpsc::channel();
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        let _ = send.send(
            SecretScanner::new()
                .scan_dir(&root)
                .map_err(|e| e.to_string()),
        );
    });
    match receive.recv_timeout(SCAN_TIMEOUT) {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => panic!("the scan gave up: {error}"),
        Err(_) => panic!("the scan did not finish within {SCAN_TIMEOUT:?}"),
    }
}

fn paths(report: &ScanReport) -> Vec<&str> {
    report.findings.iter().map(|f| f.path.as_str()).collect()
}

// Proves hidden files and directories are scanned: `.env` and `.hidden/creds` are found.
#[test]
fn hidden_entries_are_scanned() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), ".env", &format!("AWS_KEY={}\n", aws_key(1)));
    write(
        dir.path(),
        ".hidden/creds",
        &format!("key {}\n", aws_key(2)),
    );
    let report = scan_within_timeout(dir.path());
    assert_eq!(paths(&report), [".env", ".hidden/creds"], "{report}");
}

// Proves the ignore file at the root keeps listed entries out of the scan, and only those.
#[test]
fn ignore_file_skips_listed_entries() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        IGNORE_FILE_NAME,
        "# fixtures hold fake keys on purpose\nfixtures/\n*.sample\n",
    );
    write(
        dir.path(),
        "fixtures/keys.conf",
        &format!("k {}\n", aws_key(3)),
    );
    write(
        dir.path(),
        "deep/env.sample",
        &format!("k {}\n", aws_key(4)),
    );
    write(dir.path(), "real.conf", &format!("k {}\n", aws_key(5)));
    let report = scan_within_timeout(dir.path());
    assert_eq!(paths(&report), ["real.conf"], "{report}");
    let ignored = report
        .notes
        .iter()
        .filter(|n| n.reason == SkipReason::Ignored);
    assert_eq!(ignored.count(), 2, "{report}");
}

// Proves a symlink never takes the scan out of the root, and a file is reported once even
// when a symlink inside the root points at it.
#[test]
fn symlinks_never_leave_the_root() {
    let outside = tempfile::tempdir().expect("temp dir");
    write(
        outside.path(),
        "secret.conf",
        &format!("k {}\n", aws_key(6)),
    );
    let root = tempfile::tempdir().expect("temp dir");
    write(root.path(), "real.conf", &format!("k {}\n", aws_key(7)));
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, root.path().join(name)).expect("symlink")
    };
    link(outside.path(), "out-dir");
    link(&outside.path().join("secret.conf"), "out-file");
    link(&root.path().join("real.conf"), "same-file");
    link(root.path(), "loop");
    let report = scan_within_timeout(root.path());
    assert_eq!(paths(&report), ["real.conf"], "{report}");
    let symlinks = report
        .notes
        .iter()
        .filter(|n| n.reason == SkipReason::Symlink);
    assert_eq!(symlinks.count(), 4, "{report}");
}

// Proves a FIFO does not hang the scan and a symlink to /dev/zero does not exhaust memory:
// both are skipped with a note, and the rest of the tree is still scanned.
#[test]
fn special_files_are_skipped_with_a_note() {
    let root = tempfile::tempdir().expect("temp dir");
    write(root.path(), "real.conf", &format!("k {}\n", aws_key(8)));
    let fifo = root.path().join("z-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", root.path().join("a-zero")).expect("symlink");
    let report = scan_within_timeout(root.path());
    assert_eq!(paths(&report), ["real.conf"], "{report}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.path == "z-fifo" && n.reason == SkipReason::Special("fifo")),
        "{report}"
    );
}

// Proves a file over the size bound is skipped with a note rather than read whole.
#[test]
fn oversized_files_are_skipped_with_a_note() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut big = format!("k {}\n", aws_key(9));
    big.push_str(&"x".repeat(usize::try_from(FILE_LEN_MAX_BYTES).expect("fits")));
    write(root.path(), "big.log", &big);
    let report = scan_within_timeout(root.path());
    assert!(report.findings.is_empty(), "{report}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.path == "big.log" && n.reason == SkipReason::TooLarge),
        "{report}"
    );
}

// Proves an entry that cannot be read is reported as a finding and the scan carries on: a
// directory whose path is longer than the OS accepts (unreadable even for root).
#[test]
fn unreadable_entries_are_findings_and_the_scan_carries_on() {
    let root = tempfile::tempdir().expect("temp dir");
    write(root.path(), "real.conf", &format!("k {}\n", aws_key(10)));
    let segment = "d".repeat(200);
    let deep: Vec<&str> = std::iter::repeat_n(segment.as_str(), 24).collect();
    let made = std::process::Command::new("mkdir")
        .arg("-p")
        .arg(deep.join("/"))
        .current_dir(root.path())
        .status()
        .expect("mkdir runs");
    assert!(made.success());
    let report = scan_within_timeout(root.path());
    assert!(paths(&report).contains(&"real.conf"), "{report}");
    let unreadable: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == SecretRule::Unreadable)
        .collect();
    assert_eq!(unreadable.len(), 1, "{report}");
    assert!(unreadable[0].path.starts_with("dddd"), "{report}");
}

/// One secret of every kind, the values the scanner must find and never print.
fn every_kind(seed: u64) -> (String, Vec<String>) {
    let pat = format!(
        "github_pat_{}_{}",
        random(seed, ALNUM, 22),
        random(seed + 1, ALNUM, 59)
    );
    let unquoted = random(seed + 2, ALNUM, 24);
    let bare = random(seed + 3, ALNUM, 48);
    let quoted = random(seed + 4, ALNUM, 32);
    let text = format!(
        "token: {pat}\nDB_PASSWORD={unquoted}\nblob {bare} end\nclient_secret = \"{quoted}\"\n"
    );
    (text, vec![pat, unquoted, bare, quoted])
}

// Proves the new kinds are found: fine-grained GitHub tokens, unquoted assignments of
// secret-sounding names, and bare high-entropy strings, each once and by the right rule.
#[test]
fn new_kinds_are_found_once() {
    let (text, _) = every_kind(20);
    let report = SecretScanner::new().scan_text("t.env", &text);
    let found: Vec<_> = report.findings.iter().map(|f| (f.line, f.rule)).collect();
    assert_eq!(
        found,
        [
            (1, SecretRule::GithubFineGrainedToken),
            (2, SecretRule::HighEntropyAssignment),
            (3, SecretRule::HighEntropyString),
            (4, SecretRule::HighEntropyAssignment),
        ],
        "{report}"
    );
}

// Proves ordinary code, identifiers, hashes and paths are not taken for bare secrets.
#[test]
fn code_and_hashes_are_not_bare_secrets() {
    let text = "let token = compute_token_for(user);\n\
                password = settings.password_from_vault\n\
                Sha256DigestVerificationFailedError ThisIsAVeryLongIdentifierName123\n\
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
                src/compliance/secrets/walk_tests.rs agent_00000000000000000007\n\
                550e8400-e29b-41d4-a716-446655440000 opentelemetry_sdk::trace::SdkTracerProvider\n";
    let report = SecretScanner::new().scan_text("code.rs", text);
    assert!(report.findings.is_empty(), "{report}");
}

/// Prefixes every token of a kind starts with: not secret, and shown in redacted forms.
const PUBLIC_PREFIXES: [&str; 6] = [
    "github_pat_",
    "AKIA",
    "ghp_",
    "xoxb-",
    "sk-",
    // Split, so this file holds no key header for the repository scan to find.
    concat!("-----BEGIN RSA PRIVATE", " KEY-----"),
];

/// Every run of 8 characters of `secret` past its public prefix, so a partial leak is caught.
fn windows(secret: &str, prefix_len: usize) -> Vec<&str> {
    let hidden = &secret[prefix_len.min(secret.len())..];
    (0..hidden.len().saturating_sub(7))
        .map(|start| &hidden[start..start + 8])
        .collect()
}

// Proves no secret, nor any 8 characters of one, appears in any output: the report's
// Display, Debug and JSON, and the compliance control's verdict, for every kind.
#[test]
fn redaction_holds_in_every_output() {
    let root = tempfile::tempdir().expect("temp dir");
    let (text, mut secrets) = every_kind(30);
    write(root.path(), ".env", &text);
    for (i, canary) in crate::compliance::canary::canaries(31)
        .into_iter()
        .enumerate()
    {
        write(root.path(), &format!("planted/{i}.conf"), &canary.text);
        secrets.push(canary.value);
    }
    let report = scan_within_timeout(root.path());
    assert_eq!(report.findings.len(), secrets.len(), "{report}");
    let verdict = controls::no_secrets(root.path());
    let outputs = format!(
        "{report}\n{report:?}\n{}\n{verdict}\n{verdict:?}\n{}",
        serde_json::to_string(&report).expect("serialises"),
        serde_json::to_string(&report.findings).expect("serialises"),
    );
    for secret in &secrets {
        // A public prefix (`github_pat_`, `AKIA`, a key block's header) may show; nothing after.
        let prefix_len = PUBLIC_PREFIXES
            .iter()
            .find(|prefix| secret.starts_with(*prefix))
            .map_or(0, |prefix| prefix.len());
        for window in windows(secret, prefix_len) {
            assert!(!outputs.contains(window), "«{window}» leaked");
        }
    }
}
