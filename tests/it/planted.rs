//! Planted false claims: a ledger of claims that are false (or that only vacuous evidence
//! could support), one per metric, run against a small suite that includes the vacuous
//! cases. Every one must come out REFUTED or UNVERIFIED, never VERIFIED: this is the
//! ledger's proof that a VERIFIED could have been refuted.

use swarmspec::claims::{self, ClaimStatus, Ledger, ScenarioMetrics};
use swarmspec::report::ScenarioResult;

const FEATURE: &str = r#"Feature: planted evidence
  @every-claim-failed
  Scenario: the coordinator is down for the whole run, so every claim fails
    Given deterministic mode
    And a swarm of 10 developer agents
    And 5 work items
    And the agents race for the same items
    And the coordinator fails 100 % of calls
    And retries wait 1 ms, doubling, with 0 % jitter, at most 2 times
    When the swarm runs
    Then at least 1 "work.claim" spans have "work.outcome" = "error"
    And exactly 0 "work.claim" spans have "work.outcome" = "claimed"

  @no-then
  Scenario: a real-clock race that asserts nothing
    Given throughput mode
    And a swarm of 120 developer agents
    And 2000 work items
    And the agents race for the same items
    When the swarm runs

  @deterministic
  Scenario: a deterministic race
    Given deterministic mode
    And a swarm of 120 developer agents
    And 600 work items
    And the agents race for the same items
    When the swarm runs
    Then no work item was held by two agents at the same time

  @real
  Scenario: a real-clock race
    Given throughput mode
    And a swarm of 120 developer agents
    And 2000 work items
    And the agents race for the same items
    When the swarm runs
    Then no work item was held by two agents at the same time

  @memory
  Scenario: 120 agents measured in a process of their own
    Given throughput mode
    And a swarm of 120 developer agents
    And 240 work items
    When the swarm runs in a process of its own, measuring its memory
    Then its memory grew by less than 500 MB per 100 agents

  @deploy
  Scenario: a rolling deploy
    Given 100 client agents sending one request per second
    And production has 6 instances
    And a rolling strategy with batches of 2
    When "v2" is deployed to production
    Then no request failed in production

  @audit
  Scenario: an audited run
    Given deterministic mode
    And a swarm of 8 developer agents
    And 16 work items
    When the swarm runs
    And the run's coordination actions are written to the audit log
    Then the audit log verifies against the captured evidence
"#;

/// (id, metric, comparator, threshold, tag): each claim false, or supportable only by
/// vacuous evidence under its tag.
const PLANTED: &[(&str, &str, &str, f64, &str)] = &[
    (
        "vacuous-holds-all-failed",
        "coordination.double_holds",
        "==",
        0.0,
        "every-claim-failed",
    ),
    (
        "vacuous-throughput-no-then",
        "coordination.throughput_ops_s",
        ">",
        0.0,
        "no-then",
    ),
    (
        "vacuous-holds-no-then",
        "coordination.double_holds",
        "==",
        0.0,
        "no-then",
    ),
    (
        "vacuous-throughput-deterministic",
        "coordination.throughput_ops_s",
        ">",
        0.0,
        "deterministic",
    ),
    (
        "vacuous-latency-deterministic",
        "work.claim.latency_ms_p99",
        "<",
        1e9,
        "deterministic",
    ),
    (
        "false-memory-1-byte-per-agent",
        "memory.rss_mb_per_100_agents",
        "<",
        0.0001,
        "memory",
    ),
    ("false-holds", "coordination.double_holds", ">", 0.0, "real"),
    (
        "false-throughput",
        "coordination.throughput_ops_s",
        ">",
        1e12,
        "real",
    ),
    (
        "false-claim-throughput",
        "work.claim.throughput_ops_s",
        ">",
        1e12,
        "real",
    ),
    (
        "false-mean-latency",
        "coordination.latency_ms_mean",
        "<",
        1e-9,
        "real",
    ),
    ("false-p99", "work.claim.latency_ms_p99", "<", 1e-9, "real"),
    (
        "false-success",
        "agent.success_rate_percent",
        ">",
        100.0,
        "real",
    ),
    (
        "false-completion",
        "work.completion_percent",
        "<",
        100.0,
        "real",
    ),
    (
        "false-deploy-duration",
        "deploy.duration_s_max",
        "<",
        0.001,
        "deploy",
    ),
    (
        "false-failed-requests",
        "deploy.failed_requests",
        ">",
        0.0,
        "deploy",
    ),
    ("false-audit", "audit.chain_intact", "==", 0.0, "audit"),
];

fn ledger() -> Ledger {
    let mut text = String::new();
    for (id, metric, comparator, threshold, tag) in PLANTED {
        text.push_str(&format!(
            "[[claim]]\nid = \"{id}\"\nstatement = \"planted\"\nmetric = \"{metric}\"\ncomparator = \"{comparator}\"\nthreshold = {threshold:e}\ntags = [\"{tag}\"]\n\n"
        ));
    }
    Ledger::parse(&text, "planted ledger").expect("the planted ledger parses")
}

// Proves no planted false or vacuous claim is VERIFIED, that every metric of the catalogue
// is planted, and that the vacuous ones are UNVERIFIED for the right reason.
#[test]
fn planted_false_claims_are_never_verified() {
    let (_dir, suite) = super::suite::run_text("planted.feature", FEATURE);
    let no_then = suite
        .scenarios
        .iter()
        .find(|s| s.tags.iter().any(|t| t == "no-then"))
        .expect("the no-Then scenario ran");
    assert_eq!(
        no_then.status,
        swarmspec::report::ScenarioStatus::NoAssertion
    );
    let measured: Vec<ScenarioMetrics> = suite
        .scenarios
        .iter()
        .map(ScenarioResult::for_claims)
        .collect();
    let results = claims::evaluate(&ledger(), &measured);

    for metric in claims::metrics::CATALOGUE {
        assert!(
            PLANTED.iter().any(|(_, m, ..)| *m == metric.name),
            "metric {} has no planted false claim",
            metric.name
        );
    }
    let verified: Vec<String> = results
        .iter()
        .filter(|r| r.status == ClaimStatus::Verified)
        .map(|r| format!("{}: {:?}", r.id, r.evidence))
        .collect();
    assert!(
        verified.is_empty(),
        "planted claims VERIFIED: {verified:#?}"
    );
    for result in results.iter().filter(|r| r.id.starts_with("vacuous-")) {
        assert_eq!(
            result.status,
            ClaimStatus::Unverified,
            "{}: {:?}",
            result.id,
            result.evidence
        );
    }
    let refuted = results
        .iter()
        .filter(|r| r.status == ClaimStatus::Refuted)
        .count();
    assert!(
        refuted >= 8,
        "the false claims are measured and refuted: {results:#?}"
    );
}
