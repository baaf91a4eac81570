//! Claim evaluation: worst case decides, conditions, scope, standing and minimum evidence.

use super::*;

fn ledger(metric: &str, comparator: &str, threshold: f64) -> Ledger {
    let text = format!(
        "[[claim]]\nid = \"c\"\nstatement = \"s\"\nmetric = \"{metric}\"\ncomparator = \"{comparator}\"\nthreshold = {threshold}\ntags = [\"t\"]\n"
    );
    Ledger::parse(&text, "test").expect("valid")
}

fn scenario(tag: &str, metric: &str, value: f64) -> ScenarioMetrics {
    ScenarioMetrics {
        name: format!("{tag}-{value}"),
        tags: vec![tag.into()],
        observed: [(metric.to_owned(), value)].into_iter().collect(),
        ..ScenarioMetrics::default()
    }
}

// Proves the worst of several measurements decides, so one bad run refutes.
#[test]
fn worst_measurement_decides() {
    let l = ledger("work.claim.throughput_ops_s", ">", 1000.0);
    let results = evaluate(
        &l,
        &[
            scenario("t", "work.claim.throughput_ops_s", 5000.0),
            scenario("t", "work.claim.throughput_ops_s", 900.0),
        ],
    );
    assert_eq!(results[0].status, ClaimStatus::Refuted);
    assert_eq!(results[0].observed, Some(900.0));
}

// Proves a false claim is refuted with the observed value.
#[test]
fn false_claim_refuted() {
    let l = ledger("work.claim.latency_ms_p99", "<", 0.000001);
    let results = evaluate(&l, &[scenario("t", "work.claim.latency_ms_p99", 0.002)]);
    assert_eq!(results[0].status, ClaimStatus::Refuted);
    assert_eq!(results[0].observed, Some(0.002));
}

// Proves a known shortfall stays REFUTED with its measurement but does not fail the run,
// while the same claim without the note does.
#[test]
fn known_shortfall_is_reported_but_excused() {
    let text = "[[claim]]\nid = \"c\"\nstatement = \"s\"\nmetric = \"deploy.duration_s_max\"\ncomparator = \"<\"\nthreshold = 30\ntags = [\"t\"]\nknown_shortfall = \"slow model\"\n";
    let noted = Ledger::parse(text, "test").expect("valid");
    let result = &evaluate(&noted, &[scenario("t", "deploy.duration_s_max", 70.0)])[0];
    assert_eq!(result.status, ClaimStatus::Refuted);
    assert_eq!(result.observed, Some(70.0));
    assert!(!result.fails_run());
    let plain = ledger("deploy.duration_s_max", "<", 30.0);
    assert!(evaluate(&plain, &[scenario("t", "deploy.duration_s_max", 70.0)])[0].fails_run());
}

// Proves a claim with no evidence (tag filtered out) is unverified, not verified.
#[test]
fn missing_evidence_is_unverified() {
    let l = ledger("coordination.double_holds", "==", 0.0);
    let results = evaluate(&l, &[scenario("other", "coordination.double_holds", 0.0)]);
    assert_eq!(results[0].status, ClaimStatus::Unverified);
}

// Proves a worse-than-baseline figure beyond tolerance becomes a regression.
#[test]
fn regression_against_baseline() {
    let l = ledger("work.claim.throughput_ops_s", ">", 1000.0);
    let mut now = evaluate(&l, &[scenario("t", "work.claim.throughput_ops_s", 5000.0)]);
    let mut better = now.clone();
    better[0].observed = Some(8000.0);
    let mut close = now.clone();
    close[0].observed = Some(5200.0);
    mark_regressions(&l, &mut now, &close);
    assert_eq!(now[0].status, ClaimStatus::Verified);
    mark_regressions(&l, &mut now, &better);
    assert_eq!(now[0].status, ClaimStatus::Regression);
}

fn scoped(text_extra: &str) -> Ledger {
    let text = format!(
        "[[claim]]\nid = \"c\"\nstatement = \"s\"\nmetric = \"coordination.double_holds\"\ncomparator = \"==\"\nthreshold = 0\n{text_extra}"
    );
    Ledger::parse(&text, "test").expect("valid")
}

fn run(name: &str, value: f64, agents: f64, standing: Standing) -> ScenarioMetrics {
    ScenarioMetrics {
        name: name.into(),
        observed: [("coordination.double_holds".to_owned(), value)]
            .into_iter()
            .collect(),
        record: [(
            "agents".to_owned(),
            crate::claims::conditions::number(agents),
        )]
        .into_iter()
        .collect(),
        standing,
        ..ScenarioMetrics::default()
    }
}

// Proves a run that does not meet the claim's conditions does not count, and the report
// names it with its value and the unmet condition.
#[test]
fn runs_outside_the_conditions_do_not_count() {
    let l = scoped("conditions = { agents = \">= 100\" }\n");
    let results = evaluate(&l, &[run("small", 0.0, 4.0, Standing::Passed)]);
    assert_eq!(results[0].status, ClaimStatus::Unverified);
    let why = &results[0].evidence[0];
    assert!(
        why.contains("agents >= 100") && why.contains("closest: small"),
        "{why}"
    );
    let left = &results[0].measurements[0];
    assert_eq!(left.value, Some(0.0));
    assert!(left
        .left_out
        .as_deref()
        .unwrap_or_default()
        .contains("agents = 4"));
    let big = evaluate(
        &l,
        &[
            run("small", 0.0, 4.0, Standing::Passed),
            run("big", 0.0, 120.0, Standing::Passed),
        ],
    );
    assert_eq!(big[0].status, ClaimStatus::Verified);
}

// Proves a failed scenario can refute a claim but never verify one.
#[test]
fn failed_scenarios_refute_but_never_verify() {
    let l = scoped("");
    let agreeing = evaluate(&l, &[run("failed", 0.0, 100.0, Standing::Failed)]);
    assert_eq!(agreeing[0].status, ClaimStatus::Unverified);
    let refuting = evaluate(&l, &[run("failed", 3.0, 100.0, Standing::Failed)]);
    assert_eq!(refuting[0].status, ClaimStatus::Refuted);
}

// Proves a scenario that asserted nothing counts toward no claim, either way.
#[test]
fn no_assertion_counts_for_nothing() {
    let l = scoped("");
    for value in [0.0, 5.0] {
        let results = evaluate(&l, &[run("silent", value, 100.0, Standing::NoAssertion)]);
        assert_eq!(results[0].status, ClaimStatus::Unverified, "value {value}");
    }
}

// Proves untagged claims take every measuring scenario, and tags narrow the set while the
// left-out scenarios stay listed with their values.
#[test]
fn tags_narrow_visibly() {
    let mut bad = run("untagged bad", 7.0, 100.0, Standing::Passed);
    bad.tags.clear();
    let mut good = run("tagged good", 0.0, 100.0, Standing::Passed);
    good.tags = vec!["t".into()];
    let all = evaluate(&scoped(""), &[bad.clone(), good.clone()]);
    assert_eq!(all[0].status, ClaimStatus::Refuted);
    let narrowed = evaluate(&scoped("tags = [\"t\"]\n"), &[bad, good]);
    assert_eq!(narrowed[0].status, ClaimStatus::Verified);
    assert!(narrowed[0]
        .evidence
        .iter()
        .any(|e| e.starts_with("left out: untagged bad = 7.000")));
}

// Proves a metric below its minimum evidence is UNVERIFIED with the reason.
#[test]
fn below_minimum_evidence_is_unverified() {
    let l = scoped("");
    let mut scenario = ScenarioMetrics {
        name: "lonely".into(),
        ..ScenarioMetrics::default()
    };
    scenario.unmeasured.insert(
        "coordination.double_holds".into(),
        "1 agent(s) held an item".into(),
    );
    let results = evaluate(&l, &[scenario]);
    assert_eq!(results[0].status, ClaimStatus::Unverified);
    assert!(results[0].measurements[0]
        .left_out
        .as_deref()
        .unwrap_or_default()
        .contains("minimum evidence"));
}
