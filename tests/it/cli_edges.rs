//! The `swarmspec` binary at its edges: a closed stdout, bench limits checked before the
//! bench, and the smaller input mistakes of issue 14, each a clear error and never a panic.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_swarmspec");

/// A history file of one run with one claim, so `history` and `check-docs` have lines to print.
const HISTORY_LINE: &str = r#"{"run_id":"r1","started_unix_s":1,"passed":true,"claims":[{"id":"c1","statement":"s","metric":"m","unit":"u","expected":"< 1","observed":0.5,"status":"Verified","evidence":[]}]}"#;

fn swarmspec(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the swarmspec binary runs")
}

/// Runs with a stdout whose reading end is already closed, so the first write fails.
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(BIN)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the swarmspec binary runs")
}

fn check_rejected(args: &[&str], expected_text: &str) -> String {
    let output = swarmspec(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(expected_text),
        "{args:?}: expected «{expected_text}» in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

fn history_file(dir: &Path) -> String {
    let path = dir.join("history.jsonl");
    std::fs::write(&path, format!("{HISTORY_LINE}\n")).expect("write history");
    path.display().to_string()
}

// Proves every printing command exits quietly (no panic, no message, the SIGPIPE code 141
// a shell expects) when its reader has gone, as in `swarmspec history | head -1`.
#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let history = history_file(dir.path());
    let commands: [&[&str]; 5] = [
        &["history", "--history", &history],
        &["steps"],
        &[
            "run",
            "--agents",
            "2",
            "--items",
            "4",
            "--mode",
            "deterministic",
        ],
        &["spans", "check", "features/data/messy_span_log.json"],
        &["check-docs", "README.md", "--history", &history],
    ];
    for args in commands {
        let output = with_closed_stdout(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(141), "{args:?}: {stderr}");
    }
}

// Proves `bench --cores` is checked against the machine before anything runs: zero is
// refused (not run on one core), and more threads than the machine has are refused.
#[test]
fn bench_cores_are_validated() {
    check_rejected(&["bench", "--quick", "--cores", "0"], "at least 1");
    let stderr = check_rejected(&["bench", "--quick", "--cores", "100000"], "this machine");
    assert!(!stderr.contains("measured"), "{stderr}");
}

// Proves `bench --out` naming a directory fails before the bench, not after it.
#[test]
fn bench_out_to_a_directory_fails_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().display().to_string();
    let stderr = check_rejected(
        &["bench", "--quick", "--cores", "1", "--out", &out],
        "is a directory",
    );
    assert!(
        !stderr.contains("measured"),
        "the bench ran first: {stderr}"
    );
}

// Proves `history` reads past a torn last line and a garbage line, naming each in a warning
// and still showing the runs around them.
#[test]
fn history_skips_bad_lines_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history.jsonl");
    let text = format!("{HISTORY_LINE}\nnot json at all\n{HISTORY_LINE}\n{{\"run_id\":\"to");
    std::fs::write(&path, text).expect("write history");
    let output = swarmspec(&["history", "--history", &path.display().to_string()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("line 2: not a run record"), "{stderr}");
    assert!(stderr.contains("line 4: not a run record"), "{stderr}");
    assert_eq!(stdout.matches("  r1 ").count(), 2, "{stdout}");
}

// Proves a 5 000-digit count is "too large", in words and cut short, not a parser's debug form.
#[test]
fn a_huge_number_is_too_large_in_words() {
    let huge = "9".repeat(5_000);
    for flag in ["--agents", "--seed"] {
        let stderr = check_rejected(&["run", flag, &huge], "is too large: at most");
        assert!(
            stderr.len() < 400,
            "{flag}: {} bytes: {stderr}",
            stderr.len()
        );
    }
}

// Proves `--otlp ''` is refused instead of silently exporting nothing.
#[test]
fn an_empty_otlp_endpoint_is_refused() {
    let output = Command::new(BIN)
        .args(["run", "--agents", "2", "--items", "2", "--otlp", ""])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("the swarmspec binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("empty endpoint"), "{stderr}");
}

// Proves an empty span file says "empty" and a binary one says "not text".
#[test]
fn empty_and_binary_span_files_say_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").expect("write");
    let binary = dir.path().join("binary.json");
    std::fs::write(&binary, b"{\"a\":\x00\x01\x02}\n").expect("write");
    check_rejected(
        &["spans", "check", &empty.display().to_string()],
        "is empty",
    );
    check_rejected(
        &["spans", "check", &binary.display().to_string()],
        "is not text",
    );
}

// Proves `spans check --strict` names the rule it failed on, not only the exit code.
#[test]
fn strict_spans_check_names_its_rule() {
    let output = swarmspec(&[
        "spans",
        "check",
        "--strict",
        "features/data/messy_span_log.json",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL --strict: every fragment"), "{stdout}");
}

// Proves a split run on a store directory an earlier run used is refused up front, saying
// why, rather than failing afterwards with "unexplained completions".
#[test]
fn a_split_run_refuses_a_used_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().display());
    let args = [
        "run",
        "--processes",
        "2",
        "--agents",
        "4",
        "--items",
        "4",
        "--store",
        &store,
    ];
    let first = swarmspec(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stderr = check_rejected(&args, "already holds 4 work items");
    assert!(!stderr.contains("unexplained"), "{stderr}");
}
