//! `swarmspec audit-store`: counts by kind first, the per-kind limit, `--all`, `--json`, a
//! fresh store clean, duplicate completions found, and one unreadable file as one finding.

use std::path::Path;
use std::process::{Command, Output};

fn audit(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .arg("audit-store")
        .arg(dir)
        .args(extra)
        .output()
        .expect("the swarmspec binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write fixture");
}

fn array(entries: impl Iterator<Item = String>) -> String {
    format!("[{}]", entries.collect::<Vec<_>>().join(","))
}

/// Five completed items missing from the log, four logged items nobody claimed, and item `d`
/// completed ten times by ten different (registered) agents.
fn store_with_findings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let claims = (0..5)
        .map(|i| format!(r#"{{"work_item_id": "w{i}", "status": "completed"}}"#))
        .chain(std::iter::once(
            r#"{"work_item_id": "d", "status": "completed"}"#.to_owned(),
        ));
    write(dir.path(), "work_claims.json", &array(claims));
    let log = (0..10)
        .map(|i| format!(r#"{{"work_item_id": "d", "agent_id": "a{i}"}}"#))
        .chain((0..4).map(|i| format!(r#"{{"work_item_id": "x{i}", "agent_id": "a0"}}"#)));
    write(dir.path(), "coordination_log.json", &array(log));
    let agents = (0..10).map(|i| format!(r#"{{"agent_id": "a{i}"}}"#));
    write(dir.path(), "agent_status.json", &array(agents));
    dir
}

// Proves the text starts with the verdict and the counts by kind, and findings fail the run.
#[test]
fn counts_by_kind_come_first() {
    let dir = store_with_findings();
    let output = audit(dir.path(), &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("FAIL the coordination files in "),
        "{text}"
    );
    assert!(lines[0].ends_with(": 10 findings"), "{text}");
    assert_eq!(
        lines[1],
        "findings by kind: 5 completion missing from log, 4 logged item not claimed, \
         1 duplicate completion"
    );
}

// Proves `--limit 2` shows two findings of each kind and says how many more there are.
#[test]
fn limit_applies_per_kind() {
    let dir = store_with_findings();
    let text = stdout(&audit(dir.path(), &["--limit", "2"]));
    assert_eq!(text.matches("  - work_claims.json [").count(), 2, "{text}");
    assert_eq!(
        text.matches("  - coordination_log.json x").count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("  - coordination_log.json d").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("… and 3 more completion missing from log"),
        "{text}"
    );
    assert!(
        text.contains("… and 2 more logged item not claimed"),
        "{text}"
    );
}

// Proves `--all` shows every finding and leaves nothing out.
#[test]
fn all_shows_every_finding() {
    let dir = store_with_findings();
    let text = stdout(&audit(dir.path(), &["--all"]));
    assert_eq!(text.matches("\n  - ").count(), 10, "{text}");
    assert!(!text.contains("more"), "{text}");
}

// Proves `--json` is one document holding every finding whatever the limit, with the
// directory, counts by kind and the verdict; the ten-fold completion is one finding.
#[test]
fn json_holds_every_finding() {
    let dir = store_with_findings();
    let output = audit(dir.path(), &["--json", "--limit", "1"]);
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["total"], 10);
    assert_eq!(doc["dir"], dir.path().display().to_string());
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 10);
    let counts = doc["counts"].as_array().expect("counts");
    assert_eq!(counts[0]["kind"], "completion_missing_from_log");
    assert_eq!(counts[0]["count"], 5);
    let repeats: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["kind"] == "duplicate_completion")
        .collect();
    assert_eq!(repeats.len(), 1, "{doc}");
    let detail = repeats[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("completed 10 times, by 10 agents: a0, a1,"),
        "{detail}"
    );
    assert!(detail.contains("(entries 0, 1, 2,"), "{detail}");
}

// Proves a fresh store audits clean and exits 0: an empty directory, and claims with no log
// (nor agents) yet; in JSON too.
#[test]
fn a_fresh_store_is_clean() {
    let empty = tempfile::tempdir().expect("temp dir");
    let no_log = tempfile::tempdir().expect("temp dir");
    write(
        no_log.path(),
        "work_claims.json",
        r#"[{"work_item_id": "w1", "status": "pending"}]"#,
    );
    for dir in [empty.path(), no_log.path()] {
        let output = audit(dir, &[]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(
            text.starts_with("PASS ") && text.contains("no findings"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        let output = audit(dir, &["--json"]);
        let doc: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("one JSON document");
        assert_eq!(doc["passed"], true);
        assert_eq!(doc["findings"].as_array().map(Vec::len), Some(0));
    }
}

// Proves one unreadable work_claims.json is one finding, not one per log entry that would
// have been "not in work_claims".
#[test]
fn an_unreadable_file_is_one_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "work_claims.json", "{\"truncated\": ");
    let log = (0..27).map(|i| format!(r#"{{"work_item_id": "w{i}", "agent_id": "a0"}}"#));
    write(dir.path(), "coordination_log.json", &array(log));
    write(dir.path(), "agent_status.json", r#"[{"agent_id": "a0"}]"#);
    let output = audit(dir.path(), &["--all"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("findings by kind: 1 unreadable file\n"),
        "{text}"
    );
    assert_eq!(text.matches("\n  - ").count(), 1, "{text}");
    assert!(
        text.contains("  - work_claims.json: not a JSON array"),
        "{text}"
    );
}

// Proves a path that is not a directory is an error naming it, not an audit.
#[test]
fn not_a_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("work_claims.json");
    write(dir.path(), "work_claims.json", "[]");
    let output = audit(&file, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("is not a directory"), "{stderr}");
    assert!(stdout(&output).is_empty());
}
