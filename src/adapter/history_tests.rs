//! Tests of the history checker: histories built by hand, each with a known anomaly or none.

use super::*;
use crate::adapter::Outcome;

fn op(kind: OpKind, agent: &str, item: &str, span_ms: (u64, u64), outcome: Outcome) -> Operation {
    Operation {
        index: 0,
        kind,
        agent: Some(agent.into()),
        item: Some(item.into()),
        progress: (kind == OpKind::Progress).then_some(50),
        attempt: 1,
        invoke_ns: span_ms.0 * 1_000_000,
        complete_ns: span_ms.1 * 1_000_000,
        outcome,
        exit_code: Some(0),
        stdout_excerpt: String::new(),
        problem: None,
    }
}

fn run_of(mut operations: Vec<Operation>, state: &str) -> AdapterRun {
    operations.sort_by_key(|op| op.invoke_ns);
    for (index, op) in operations.iter_mut().enumerate() {
        op.index = index;
    }
    AdapterRun {
        config_path: "adapter.toml".into(),
        run_dir: "run".into(),
        agents: vec!["a".into(), "b".into()],
        items: vec!["i".into()],
        pieces: 1,
        claims_create_items: false,
        operations,
        state: FinalState {
            source: "state.json".into(),
            entries: super::super::state::parse(state),
        },
        samples: Vec::new(),
        warnings: Vec::new(),
        concurrency: 2,
        agents_duration_ns: 1,
    }
}

const DONE_BY_B: &str =
    r#"[{"work_item_id": "i", "agent_id": "b", "status": "completed", "progress": 100}]"#;

// Proves a serial, correct history has no anomaly at all.
#[test]
fn a_correct_history_passes_every_check() {
    use OpKind::*;
    let run = run_of(
        vec![
            op(Claim, "a", "i", (0, 5), Outcome::Conflict),
            op(Claim, "b", "i", (1, 4), Outcome::Ok),
            op(Progress, "b", "i", (6, 8), Outcome::Ok),
            op(Complete, "b", "i", (9, 12), Outcome::Ok),
        ],
        DONE_BY_B,
    );
    assert!(check(&run).iter().all(|v| v.passed), "{:?}", check(&run));
}

// Proves two acknowledged claims of an item, the first holder refused later, are a double
// hold and a lost claim, each naming the operation, the agent and the state observed.
#[test]
fn a_claim_taken_without_release_is_a_double_hold_and_a_lost_claim() {
    use OpKind::*;
    let run = run_of(
        vec![
            op(Claim, "a", "i", (0, 30), Outcome::Ok),
            op(Claim, "b", "i", (1, 35), Outcome::Ok),
            op(Progress, "a", "i", (31, 60), Outcome::Conflict),
            op(Progress, "b", "i", (36, 50), Outcome::Ok),
            op(Complete, "b", "i", (51, 70), Outcome::Ok),
        ],
        DONE_BY_B,
    );
    let holds = no_double_holds(&run);
    assert!(
        !holds.passed
            && holds.evidence[0].contains("by b")
            && holds.evidence[0].contains("a still held it"),
        "{holds}"
    );
    let lost = no_lost_updates(&run);
    assert!(!lost.passed, "{lost}");
    assert!(
        lost.evidence[0].starts_with("lost claim: op #0 claim i by a")
            && lost.evidence[0].contains("agent=b"),
        "{lost}"
    );
}

// Proves an acknowledged completion and progress overwritten by older values are lost.
#[test]
fn overwritten_completion_and_progress_are_lost_updates() {
    use OpKind::*;
    let stale =
        r#"[{"work_item_id": "i", "agent_id": "a", "status": "in_progress", "progress": 0}]"#;
    let run = run_of(
        vec![
            op(Claim, "a", "i", (0, 5), Outcome::Ok),
            op(Progress, "a", "i", (6, 8), Outcome::Ok),
            op(Complete, "a", "i", (9, 12), Outcome::Ok),
        ],
        stale,
    );
    let kinds: Vec<AnomalyKind> = lost_updates(&run).iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![AnomalyKind::LostProgress, AnomalyKind::LostCompletion]
    );
}

// Proves a run whose calls failed fails `calls_served`, naming the call and its problem,
// instead of passing every other check with nothing acknowledged.
#[test]
fn failed_calls_are_not_a_clean_run() {
    let mut failed = op(OpKind::Claim, "a", "i", (0, 5), Outcome::Failed);
    failed.problem = Some("exited with code 2".into());
    let run = run_of(vec![failed], DONE_BY_B);
    let verdict = calls_served(&run);
    assert!(
        !verdict.passed && verdict.evidence[0].contains("code 2"),
        "{verdict}"
    );
}

// Proves an unreadable or empty state fails both state verdicts instead of passing vacuously.
#[test]
fn an_unreadable_state_fails() {
    let run = run_of(
        vec![op(OpKind::Claim, "a", "i", (0, 5), Outcome::Ok)],
        "{oops",
    );
    assert!(!state_readable(&run).passed);
    assert!(!no_lost_updates(&run).passed);
    let empty = run_of(Vec::new(), "[]");
    assert!(!state_readable(&empty).passed);
}

// Proves an unreadable state contradicts every acknowledged update, each named, counted per
// kind, and all carrying the one root cause (not "cannot tell").
#[test]
fn an_unreadable_state_names_every_acknowledged_update() {
    use OpKind::*;
    let run = run_of(
        vec![
            op(Claim, "a", "i", (0, 5), Outcome::Ok),
            op(Progress, "a", "i", (6, 8), Outcome::Ok),
            op(Complete, "a", "i", (9, 12), Outcome::Ok),
            op(Claim, "b", "i", (1, 3), Outcome::Conflict),
        ],
        "",
    );
    let lost = lost_updates(&run);
    assert_eq!(lost.len(), 3, "{lost:?}");
    assert!(lost
        .iter()
        .all(|a| a.cause.as_deref().is_some_and(|c| c.contains("unreadable"))));
    let verdict = no_lost_updates(&run);
    assert!(!verdict.passed);
    assert!(
        verdict.observed.contains("contradicts all 3")
            && verdict.observed.contains("1 lost claim")
            && verdict.observed.contains("1 lost completion"),
        "{}",
        verdict.observed
    );
    let findings = findings(&run);
    assert!(findings
        .render(Some(10))
        .contains("because the final state is unreadable"));
}

// Proves an item nobody finished is abandoned work, with the refusals that led there, and
// fails `every_item_finished`; a finished one does not.
#[test]
fn abandoned_items_are_listed_with_their_refusals() {
    use OpKind::*;
    let mut run = run_of(
        vec![
            op(Claim, "a", "i", (0, 5), Outcome::Busy),
            op(Claim, "b", "i", (6, 8), Outcome::Conflict),
        ],
        DONE_BY_B,
    );
    let verdict = super::super::breakage::every_item_finished(&run);
    assert!(!verdict.passed, "{verdict}");
    assert!(
        verdict.evidence[0].contains("never claimed")
            || verdict.evidence[0].contains("no claim was acknowledged"),
        "{verdict}"
    );
    assert!(
        verdict.evidence[0].contains("1 busy (op #0)")
            && verdict.evidence[0].contains("1 conflict (op #1)"),
        "{verdict}"
    );
    run.operations
        .push(op(Complete, "b", "i", (9, 12), Outcome::Ok));
    assert!(super::super::breakage::every_item_finished(&run).passed);
}

// Proves a sample read after an acknowledged completion that shows the item unfinished is
// where the state broke, and counts as a lost update even when the final state is right.
#[test]
fn a_sample_says_when_the_state_broke() {
    use crate::adapter::StateSample;
    use OpKind::*;
    let mut run = run_of(
        vec![
            op(Claim, "b", "i", (0, 2), Outcome::Ok),
            op(Complete, "b", "i", (3, 4), Outcome::Ok),
        ],
        DONE_BY_B,
    );
    let sample = |at_ms: u64, state: &str| StateSample {
        start_ns: at_ms * 1_000_000,
        end_ns: at_ms * 1_000_000 + 1,
        state: FinalState {
            source: "state.json".into(),
            entries: super::super::state::parse(state),
        },
    };
    let open = r#"[{"work_item_id": "i", "agent_id": null, "status": "pending", "progress": 0}]"#;
    run.samples = vec![sample(1, DONE_BY_B), sample(5, DONE_BY_B), sample(7, open)];
    let broke = super::super::breakage::when_it_broke(&run).unwrap_or_default();
    assert!(broke.contains("sample 3 of 3"), "{broke}");
    assert!(
        broke.contains("sample 2 (read at 5.0 ms) agreed"),
        "{broke}"
    );
    let lost = lost_updates(&run);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(lost[0].observed.contains("shows it again"), "{lost:?}");
}
