//! The `swarmspec` binary: bad values get a clear one-line error and a non-zero exit.

use std::process::{Command, Output};

fn swarmspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .args(args)
        .output()
        .expect("the swarmspec binary runs")
}

fn check_rejected(args: &[&str], expected_text: &str) {
    let output = swarmspec(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{args:?} should fail; stderr: {stderr}"
    );
    assert!(
        stderr.contains(expected_text),
        "{args:?}: expected «{expected_text}» in: {stderr}"
    );
}

// Proves zero agents is refused with a message naming the problem.
#[test]
fn zero_agents_is_refused() {
    check_rejected(&["run", "--agents", "0"], "must be at least 1");
}

// Proves a non-number is refused with a message naming the value.
#[test]
fn non_number_agents_is_refused() {
    check_rejected(&["run", "--agents", "many"], "'many' is not a whole number");
}

// Proves an unknown mode lists the accepted ones.
#[test]
fn unknown_mode_is_refused() {
    check_rejected(&["run", "--mode", "fast"], "deterministic");
}

// Proves more teams than agents is refused before anything runs.
#[test]
fn more_teams_than_agents_is_refused() {
    check_rejected(
        &["run", "--agents", "2", "--teams", "3"],
        "more than --agents",
    );
}

// Proves a small deterministic run succeeds and prints figures measured from the capture.
#[test]
fn small_run_prints_figures_and_checks() {
    let output = swarmspec(&[
        "run",
        "--agents",
        "20",
        "--items",
        "50",
        "--mode",
        "deterministic",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stdout: {stdout}");
    assert!(stdout.contains("work.claim"), "{stdout}");
    assert!(
        stdout.contains("PASS no work item held by two agents"),
        "{stdout}"
    );
}

// Proves `spans check` reads a messy span log, lists what it skipped, and fails on the
// planted double claim, naming the item.
#[test]
fn spans_check_catches_planted_double_claim() {
    let output = swarmspec(&["spans", "check", "features/data/messy_span_log.json"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("6 spans read, 3 fragments skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("line 14"), "{stdout}");
    assert!(stdout.contains("W-2 held by agent-a"), "{stdout}");
}

// Proves `spans check --feature` runs a feature against the file under check.
#[test]
fn spans_check_runs_a_feature_on_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feature = dir.path().join("check.feature");
    std::fs::write(
        &feature,
        "Feature: recorded spans\n  Scenario: no double hold\n    Given the spans under check\n    \
         Then no work item was held by two agents at the same time\n",
    )
    .expect("write feature");
    let out = dir.path().join("reports");
    let args = [
        "spans",
        "check",
        "features/data/otlp_spans.jsonl",
        "--feature",
        feature.to_str().expect("utf-8 temp path"),
        "--out",
        out.to_str().expect("utf-8 temp path"),
    ];
    let output = swarmspec(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("1 scenario (1 passed)"), "{stdout}");
}

// Proves `run --store file:DIR` drives the file store: the run's checks pass and the
// directory holds every item completed, in valid JSON.
#[test]
fn run_on_a_file_store_leaves_completed_items() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().display());
    let args = [
        "run",
        "--agents",
        "6",
        "--items",
        "12",
        "--mode",
        "deterministic",
        "--contention",
        "high",
        "--store",
        &store,
    ];
    let output = swarmspec(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let claims = std::fs::read_to_string(dir.path().join("work_claims.json")).expect("claims");
    let claims: serde_json::Value = serde_json::from_str(&claims).expect("valid JSON");
    let items = claims.as_array().expect("an array");
    assert_eq!(items.len(), 12);
    assert!(
        items.iter().all(|item| item["status"] == "completed"),
        "{claims:#}"
    );
}

// Proves the determinism self-check passes for a seeded run and refuses the real clock.
#[test]
fn determinism_self_check() {
    let ok = swarmspec(&[
        "run",
        "--agents",
        "30",
        "--items",
        "60",
        "--mode",
        "deterministic",
        "--contention",
        "high",
        "--check-determinism",
    ]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("gave the same"));
    let real = swarmspec(&[
        "run",
        "--agents",
        "5",
        "--items",
        "5",
        "--mode",
        "throughput",
        "--check-determinism",
    ]);
    assert!(!real.status.success());
    assert!(String::from_utf8_lossy(&real.stderr).contains("needs --mode deterministic"));
}

// Proves a missing ledger or features directory is a one-line error naming the input.
#[test]
fn missing_inputs_are_named() {
    check_rejected(
        &["verify", "--ledger", "/nonexistent/claims.toml"],
        "/nonexistent/claims.toml",
    );
    check_rejected(
        &["verify", "--features", "/nonexistent/features"],
        "/nonexistent/features: no such features directory",
    );
}

// Proves an unwritable report directory is refused with its path, before anything is reported.
#[test]
fn unwritable_report_dir_is_named() {
    check_rejected(
        &["verify", "--out", "/proc/swarmspec-forbidden/out"],
        "cannot create the report directory /proc/swarmspec-forbidden/out",
    );
}

// Proves absurd times, a reused span id and a parent loop in a span file are refused by
// line with the reason, and that the real double hold among them can no longer pass: once
// the 1e300 start became u64::MAX and the hold check passed.
#[test]
fn spans_check_refuses_absurd_spans_and_does_not_pass() {
    let output = swarmspec(&["spans", "check", "features/data/absurd_times.json"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    for expected in [
        "line 2: timestamp 1e+300 ns is after 2554",
        "line 5: span ",
        "years after the file's other spans",
        "line 6: timestamp «9999-12-31T23:59:59Z» is after 2554",
        "line 7: duration_ms -4 is negative",
        "line 8: span id ",
        "already used",
        "parent cycle",
        "FAIL no work item held by two agents",
        "7 spans of the span file were refused",
    ] {
        assert!(stdout.contains(expected), "«{expected}» not in: {stdout}");
    }
    assert!(!stdout.contains("before 1970"), "{stdout}");
}

// Proves `run --items 100000000` (about 500 GB) is refused before it starts, with the
// estimate and the machine's available memory; it used to start and run out of memory.
#[test]
fn run_that_cannot_fit_in_memory_is_refused() {
    check_rejected(
        &["run", "--items", "100000000"],
        "this machine has available",
    );
    check_rejected(&["run", "--items", "100000000"], "need about 500.0 GB");
}
