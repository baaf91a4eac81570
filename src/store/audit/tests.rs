//! Tests of the audit: directories built by hand, each with known findings or none.

use std::path::Path;

use super::*;

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write fixture");
}

fn kinds(found: &Findings) -> Vec<&str> {
    found.findings.iter().map(|f| f.kind.as_str()).collect()
}

fn of_kind<'a>(found: &'a Findings, kind: &str) -> Vec<&'a Finding> {
    found.findings.iter().filter(|f| f.kind == kind).collect()
}

/// `n` log entries of `item`, each by a different agent `a0`, `a1`, …
fn log_of(item: &str, n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"work_item_id": "{item}", "agent_id": "a{i}", "result": "completed"}}"#)
        })
        .collect();
    format!("[{}]", entries.join(","))
}

fn agents(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"agent_id": "a{i}"}}"#))
        .collect();
    format!("[{}]", entries.join(","))
}

// Proves each per-entry kind is reported with its file, its index in the file (counting the
// malformed entry before it) and its id, and nothing else is.
#[test]
fn reports_each_kind_with_file_and_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        r#"[{"agent_id": "a1"},
            {"work_item_id": "w1", "agent_id": "a1", "status": "active"},
            {"work_item_id": "w1", "agent_id": "a2", "status": "active"},
            {"work_item_id": "w2", "agent_id": "ghost", "status": "completed"},
            {"work_item_id": "w3", "status": "pending"},
            {"work_item_id": "w3", "status": "pending"}]"#,
    );
    write(dir.path(), AGENT_STATUS_FILE, &agents(3));
    write(
        dir.path(),
        COORDINATION_LOG_FILE,
        r#"[{"work_item_id": "w9", "agent_id": "a1"}, {"work_item_id": "w1", "agent_id": "nobody"}]"#,
    );
    let found = audit_dir(dir.path());
    let all = found.render(None);
    let has = |kind: &str, line: &str| {
        assert!(
            of_kind(&found, kind).iter().any(|f| f.to_string() == line),
            "no {kind} «{line}» in:\n{all}"
        );
    };
    has(
        kind::MALFORMED_ENTRY,
        "work_claims.json [0]: missing field `work_item_id`",
    );
    has(
        kind::HELD_TWICE,
        "work_claims.json w1: entries 1, 2: held by 2 agents at once: a1, a2",
    );
    has(
        kind::DUPLICATE_CLAIM,
        "work_claims.json w3: entries 4, 5: the item appears 2 times",
    );
    has(
        kind::UNKNOWN_AGENT,
        "agent ghost: holds 1 entry (3: w2) in work_claims.json but is not in agent_status.json",
    );
    has(
        kind::COMPLETION_MISSING_FROM_LOG,
        "work_claims.json [3] w2: completed, but coordination_log.json has no entry for it",
    );
    has(
        kind::LOGGED_ITEM_NOT_CLAIMED,
        "coordination_log.json w9: logged in entry 0, but work_claims.json has no entry for it",
    );
    has(
        kind::COMPLETION_BY_UNKNOWN_AGENT,
        "agent nobody: completed 1 entry (1: w1) in coordination_log.json but is not in \
         agent_status.json",
    );
    assert_eq!(found.len(), 7, "{all}");
}

// Proves an item completed 10 times by 10 agents is one finding that names the count, every
// agent and every entry, and that other items' single completions are not findings.
#[test]
fn one_item_completed_ten_times_is_one_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "status": "completed"}, {"work_item_id": "w2", "status": "completed"}]"#,
    );
    write(dir.path(), AGENT_STATUS_FILE, &agents(10));
    let mut log = log_of("w1", 10);
    log.insert_str(1, r#"{"work_item_id": "w2", "agent_id": "a3"},"#);
    write(dir.path(), COORDINATION_LOG_FILE, &log);
    let found = audit_dir(dir.path());
    assert_eq!(
        kinds(&found),
        [kind::DUPLICATE_COMPLETION],
        "{}",
        found.render(None)
    );
    let finding = &found.findings[0];
    assert_eq!(finding.subject, "coordination_log.json w1");
    assert_eq!(
        finding.detail,
        "completed 10 times, by 10 agents: a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 \
         (entries 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)"
    );
}

// Proves one completion per stage of a pipeline is not a repeat, but a stage logged twice is.
#[test]
fn stages_of_a_pipeline_are_not_repeats() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "status": "completed"}]"#,
    );
    write(dir.path(), AGENT_STATUS_FILE, &agents(2));
    write(
        dir.path(),
        COORDINATION_LOG_FILE,
        r#"[{"work_item_id": "w1", "agent_id": "a0", "stage": 0},
            {"work_item_id": "w1", "agent_id": "a1", "stage": 1},
            {"work_item_id": "w1", "agent_id": "a1", "stage": 1}]"#,
    );
    let found = audit_dir(dir.path());
    assert_eq!(kinds(&found), [kind::DUPLICATE_COMPLETION]);
    assert_eq!(
        found.findings[0].subject,
        "coordination_log.json w1 stage 1"
    );
    assert!(found.findings[0]
        .detail
        .starts_with("completed 2 times, by 1 agent: a1"));
}

// Proves a fresh store audits clean: no files at all, claims but no log or agents yet, and
// claims held by registered agents with no completion logged yet.
#[test]
fn a_fresh_store_audits_clean() {
    let empty = tempfile::tempdir().expect("temp dir");
    assert!(audit_dir(empty.path()).is_empty());
    assert!(no_anomalies(empty.path()).passed);

    let claims_only = tempfile::tempdir().expect("temp dir");
    write(
        claims_only.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "status": "pending"}]"#,
    );
    let found = audit_dir(claims_only.path());
    assert!(found.is_empty(), "{}", found.render(None));

    let no_log = tempfile::tempdir().expect("temp dir");
    write(
        no_log.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "agent_id": "a0", "status": "active"}]"#,
    );
    write(no_log.path(), AGENT_STATUS_FILE, &agents(1));
    let found = audit_dir(no_log.path());
    assert!(found.is_empty(), "{}", found.render(None));
}

// Proves an absent file that others refer into is one missing_file finding, and the
// per-entry checks against it are skipped.
#[test]
fn an_absent_file_referred_to_is_one_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "agent_id": "a0", "status": "completed"},
            {"work_item_id": "w2", "agent_id": "a1", "status": "completed"}]"#,
    );
    let found = audit_dir(dir.path());
    assert_eq!(
        kinds(&found),
        [kind::MISSING_FILE, kind::MISSING_FILE],
        "{}",
        found.render(None)
    );
    assert_eq!(
        found.findings[0].to_string(),
        "agent_status.json: does not exist, but 2 entries of work_claims.json name agents: a0, a1"
    );
    assert_eq!(
        found.findings[1].to_string(),
        "coordination_log.json: does not exist, but 2 entries of work_claims.json are completed: w1, w2"
    );

    let log_only = tempfile::tempdir().expect("temp dir");
    write(log_only.path(), COORDINATION_LOG_FILE, &log_of("w1", 1));
    write(log_only.path(), AGENT_STATUS_FILE, &agents(1));
    let found = audit_dir(log_only.path());
    assert_eq!(
        kinds(&found),
        [kind::MISSING_FILE],
        "{}",
        found.render(None)
    );
    assert_eq!(found.findings[0].subject, WORK_CLAIMS_FILE);
}

// Proves an unreadable work_claims.json is one finding: the 27 log entries that would each be
// "not in work_claims" are not reported, whatever made the file unreadable.
#[test]
fn an_unreadable_file_is_one_root_cause() {
    for broken in ["", "{not json", "[1, 2"] {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), WORK_CLAIMS_FILE, broken);
        write(dir.path(), AGENT_STATUS_FILE, &agents(27));
        let entries: Vec<String> = (0..27)
            .map(|i| format!(r#"{{"work_item_id": "w{i}", "agent_id": "a{i}"}}"#))
            .collect();
        write(
            dir.path(),
            COORDINATION_LOG_FILE,
            &format!("[{}]", entries.join(",")),
        );
        let found = audit_dir(dir.path());
        assert_eq!(
            kinds(&found),
            [kind::UNREADABLE_FILE],
            "{broken:?}: {}",
            found.render(None)
        );
        assert_eq!(found.findings[0].subject, WORK_CLAIMS_FILE);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(WORK_CLAIMS_FILE)).expect("a directory in its place");
    let found = audit_dir(dir.path());
    assert_eq!(
        kinds(&found),
        [kind::UNREADABLE_FILE],
        "{}",
        found.render(None)
    );
    assert!(
        found.findings[0].detail.starts_with("cannot read:"),
        "{:?}",
        found.findings[0]
    );
}

// Proves a malformed entry's id still counts as present: the log's reference to it and its
// completer are not reported again.
#[test]
fn a_malformed_entry_is_reported_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "status": 7}]"#,
    );
    write(
        dir.path(),
        AGENT_STATUS_FILE,
        r#"[{"agent_id": "a0", "capacity": "lots"}]"#,
    );
    write(dir.path(), COORDINATION_LOG_FILE, &log_of("w1", 1));
    let found = audit_dir(dir.path());
    assert_eq!(
        kinds(&found),
        [kind::MALFORMED_ENTRY, kind::MALFORMED_ENTRY],
        "{}",
        found.render(None)
    );
    assert_eq!(found.findings[0].subject, "work_claims.json [0] w1");
    assert_eq!(found.findings[1].subject, "agent_status.json [0] a0");
}

// Proves findings are kept once per kind and subject, the first one winning.
#[test]
fn no_finding_is_reported_twice() {
    let twice: Findings = [
        Finding::new(kind::UNREADABLE_FILE, WORK_CLAIMS_FILE, "first"),
        Finding::new(kind::UNREADABLE_FILE, WORK_CLAIMS_FILE, "second"),
        Finding::new(kind::MISSING_FILE, WORK_CLAIMS_FILE, "other kind"),
    ]
    .into_iter()
    .collect();
    let once = dedupe(twice);
    assert_eq!(once.len(), 2);
    assert_eq!(once.findings[0].detail, "first");
}

// Proves the verdict built from findings keeps its meaning: fails with the counts by kind as
// observed and each finding, with its kind, as evidence.
#[test]
fn the_verdict_carries_counts_and_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        r#"[{"work_item_id": "w1", "status": "completed"}]"#,
    );
    write(dir.path(), COORDINATION_LOG_FILE, &log_of("w1", 2));
    write(dir.path(), AGENT_STATUS_FILE, &agents(1));
    let verdict = no_anomalies(dir.path());
    assert!(!verdict.passed);
    assert_eq!(
        verdict.observed,
        "2 findings: 1 completion by unknown agent, 1 duplicate completion"
    );
    assert_eq!(verdict.evidence.len(), 2);
    assert!(verdict.evidence[0].starts_with("duplicate_completion: coordination_log.json w1"));
}

// Proves an unregistered agent is one finding however many entries name it, holders and
// completers alike, and entries naming no agent are one finding too.
#[test]
fn an_unknown_agent_is_one_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let claims: Vec<String> = (0..5)
        .map(|i| {
            format!(r#"{{"work_item_id": "w{i}", "agent_id": "ghost", "status": "completed"}}"#)
        })
        .collect();
    write(
        dir.path(),
        WORK_CLAIMS_FILE,
        &format!("[{}]", claims.join(",")),
    );
    let log: Vec<String> = (0..5)
        .map(|i| {
            format!(
                r#"{{"work_item_id": "w{i}", "agent_id": "{}"}}"#,
                if i < 3 { "ghost" } else { "" }
            )
        })
        .collect();
    write(
        dir.path(),
        COORDINATION_LOG_FILE,
        &format!("[{}]", log.join(",")),
    );
    write(dir.path(), AGENT_STATUS_FILE, &agents(1));
    let found = audit_dir(dir.path());
    let all = found.render(None);
    assert_eq!(
        kinds(&found),
        [
            kind::UNKNOWN_AGENT,
            kind::COMPLETION_BY_UNKNOWN_AGENT,
            kind::COMPLETION_BY_UNKNOWN_AGENT
        ],
        "{all}"
    );
    assert_eq!(
        found.findings[0].detail,
        "holds 5 entries (0: w0, 1: w1, 2: w2, 3: w3, 4: w4) in work_claims.json but is not in \
         agent_status.json"
    );
    assert_eq!(
        found.findings[1].to_string(),
        "coordination_log.json entries with no agent: 2 entries (3: w3, 4: w4) name no agent"
    );
    assert_eq!(found.findings[2].subject, "agent ghost");
}

// Proves a claim whose trace id is missing from the span log is reported, and one whose
// trace is present, or that names no trace, is not; the full audit reads the claims once.
#[test]
fn reports_claims_without_their_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let claims = r#"[
        {"work_item_id":"w-1","status":"active","telemetry":{"trace_id":"0af7651916cd43dd8448eb211c80319c"}},
        {"work_item_id":"w-2","status":"active","telemetry":{"trace_id":"00000000000000000000000000000abc"}},
        {"work_item_id":"w-3","status":"pending"}
    ]"#;
    write(dir.path(), WORK_CLAIMS_FILE, claims);
    let span = SpanRecord {
        trace_id: 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
        span_id: 1,
        parent_span_id: None,
        name: "work.claim".into(),
        start_unix_ns: 0,
        end_unix_ns: 1,
        status: crate::telemetry::SpanStatus::Unset,
        attributes: Vec::new(),
    };
    let found = untraced_claims(dir.path(), std::slice::from_ref(&span));
    assert_eq!(kinds(&found), [kind::UNTRACED_CLAIM], "{found:?}");
    assert_eq!(found.findings[0].subject, "work_claims.json [1] w-2");
    let all = audit_dir_with_spans(dir.path(), Some(&[span]));
    assert_eq!(kinds(&all), [kind::UNTRACED_CLAIM], "{}", all.render(None));

    write(dir.path(), WORK_CLAIMS_FILE, "");
    let all = audit_dir_with_spans(dir.path(), Some(&[]));
    assert_eq!(kinds(&all), [kind::UNREADABLE_FILE], "{}", all.render(None));
}
