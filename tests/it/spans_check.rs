//! `swarmspec spans check` on another tool's spans (features/data/foreign_spans.json):
//! mapping by guess and by file, NOT APPLICABLE instead of a vacuous verdict, skipped
//! fragments grouped and limited, the JSON document, and the error-status warning.

use std::process::{Command, Output};

const FOREIGN: &str = "features/data/foreign_spans.json";
const MAPPING: &str = "features/data/foreign_mapping.toml";

fn swarmspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .args(args)
        .output()
        .expect("the swarmspec binary runs")
}

fn check(extra: &[&str]) -> (Output, String) {
    let mut args = vec!["spans", "check", FOREIGN];
    args.extend_from_slice(extra);
    let output = swarmspec(&args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn assert_contains(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "«{e}» not in:\n{text}");
    }
}

// Proves the guesses are reported, line by line, and that with them the double hold between
// agent-a and agent-b on item-1 is found (the check failed vacuously before).
#[test]
fn guessed_mapping_finds_the_double_hold() {
    let (output, stdout) = check(&[]);
    assert!(!output.status.success(), "{stdout}");
    assert_contains(
        &stdout,
        &[
            "mapped s2s.work.claim → work.claim by suffix (4 spans)",
            "mapped attribute s2s.work_item_id → work.item_id by suffix",
            "mapped attribute s2s.agent_id → agent.id by suffix",
            "mapped status «success» → ok as a common status word",
            "mapped status {code: 2} → error as an OTLP status code",
            "FAIL no work item held by two agents at the same time",
            "item-1 held by agent-a",
            "and by agent-b",
        ],
    );
}

// Proves --no-guess leaves the claims unnamed, so the double-hold check is NOT APPLICABLE
// with the reason: neither FAIL nor PASS.
#[test]
fn no_guess_makes_the_hold_check_not_applicable() {
    let (output, stdout) = check(&["--no-guess"]);
    assert!(!output.status.success(), "{stdout}");
    assert_contains(
        &stdout,
        &[
            "NOT APPLICABLE no work item held by two agents at the same time: no work.claim \
           span in the file; if the tool names them differently, pass --mapping",
        ],
    );
    assert!(!stdout.contains("mapped "), "{stdout}");
    assert!(!stdout.contains("FAIL no work item held"), "{stdout}");
    assert!(!stdout.contains("PASS no work item held"), "{stdout}");
}

// Proves the shipped mapping file works with guessing off (its entries say everything) and
// is reported as the mapping file's.
#[test]
fn explicit_mapping_file_works() {
    let (_, stdout) = check(&["--mapping", MAPPING, "--no-guess"]);
    assert_contains(
        &stdout,
        &[
            "mapped s2s.work.claim → work.claim by the mapping file (4 spans)",
            "mapped status «failed» → error by the mapping file",
            "mapped status {code: 2} → error by the mapping file",
            "FAIL no work item held by two agents at the same time",
            "item-1 held by agent-a",
        ],
    );
    assert!(!stdout.contains("by suffix"), "{stdout}");
    assert!(!stdout.contains("as a common status word"), "{stdout}");
    assert!(stdout.contains("WARNING 2 skipped fragments"), "{stdout}");
}

// Proves a bad mapping file is refused with file:line and the problem.
#[test]
fn bad_mapping_file_names_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[span_names]\na = \"work.claim\"\n[status]\nok = \"fine\"\n",
    )
    .expect("write mapping");
    let path = path.to_str().expect("utf-8 temp path");
    let output = swarmspec(&["spans", "check", FOREIGN, "--mapping", path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(&format!("{path}:4:")), "{stderr}");
    assert!(stderr.contains("ok, error or unset"), "{stderr}");
}

// Proves skipped fragments are grouped by reason with counts first, limited per reason by
// --limit with what was left out said, and all shown with --all.
#[test]
fn skipped_fragments_grouped_and_limited() {
    let (_, stdout) = check(&["--limit", "1"]);
    assert_contains(
        &stdout,
        &[
            "7 spans read, 7 fragments skipped (1 of them refused spans)",
            "findings by kind: 3 not json, 2 unknown object, 1 missing field, 1 not object",
            "not json (3):",
            "… and 2 more not json",
            "… and 1 more unknown object",
        ],
    );
    assert_eq!(stdout.matches("  - line ").count(), 4, "{stdout}");
    let (_, all) = check(&["--all"]);
    assert_eq!(all.matches("  - line ").count(), 7, "{all}");
    assert!(!all.contains("… and"), "{all}");
}

// Proves --json writes one document serde_json parses, holding every skipped fragment with
// its kind, the mappings applied, and each check's status (here with --limit 1, which does
// not cut the JSON).
#[test]
fn json_document_holds_everything() {
    let (output, stdout) = check(&["--json", "--limit", "1"]);
    assert!(!output.status.success());
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let skipped = doc["read"]["skipped"]
        .as_array()
        .expect("skipped fragments");
    assert_eq!(skipped.len(), 7);
    assert_eq!(doc["read"]["skipped_total"], 7);
    assert_eq!(doc["read"]["skipped_by_kind"]["not_json"], 3);
    assert_eq!(doc["read"]["error_status_total"], 2);
    assert!(skipped
        .iter()
        .all(|s| s["kind"].is_string() && s["line"].is_u64()));
    let applied = doc["mappings"]["applied"].as_array().expect("mappings");
    assert!(applied
        .iter()
        .any(|a| a["from"] == "s2s.work.claim" && a["to"] == "work.claim" && a["how"] == "suffix"));
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks[0]["status"], "failed");
    assert_eq!(checks[1]["status"], "failed");
    assert_eq!(doc["passed"], false);

    let (_, stdout) = check(&["--json", "--no-guess"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["checks"][0]["status"], "not_applicable");
    assert!(doc["checks"][0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("no work.claim span")));
}

// Proves the error check warns of the two skipped fragments that say `"status": "error"`,
// which it could not judge.
#[test]
fn error_status_in_skipped_fragments_warned() {
    let (_, stdout) = check(&[]);
    assert_contains(
        &stdout,
        &["WARNING 2 skipped fragments carry an error status; they were not judged (lines 12, 13)"],
    );
}

// Proves the exit rule: a file whose every check applies and holds exits 0; one where no
// check applies exits 1 though nothing failed.
#[test]
fn exit_zero_only_when_something_applied_and_nothing_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clean = dir.path().join("clean.json");
    std::fs::write(
        &clean,
        "{\"trace_id\": \"t\", \"span_id\": \"1\", \"operation_name\": \"x.work.claim\", \
         \"status\": \"success\", \"start_time\": 5, \"duration_ms\": 1, \"span_attributes\": \
         {\"x.agent_id\": \"a\", \"x.work_item_id\": \"w\", \"x.work_outcome\": \"claimed\"}}\n",
    )
    .expect("write spans");
    let output = swarmspec(&["spans", "check", clean.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("PASS no work item held"), "{stdout}");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"event\": \"hello\"}\n").expect("write spans");
    let output = swarmspec(&["spans", "check", garbage.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("NOT APPLICABLE no span has status error"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL no check applied"), "{stdout}");
}
