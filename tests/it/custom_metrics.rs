//! Ledger-defined metrics on a real swarm's evidence: a claim resting on one comes out
//! VERIFIED, REFUTED or UNVERIFIED from what the spans show, and a REFUTED figure is the one
//! the spans give when counted by hand.

use std::sync::Arc;

use swarmspec::claims::evaluate::Standing;
use swarmspec::claims::metrics::Measurement;
use swarmspec::claims::{evaluate, ClaimStatus, Ledger, ScenarioMetrics};
use swarmspec::evidence::Evidence;
use swarmspec::swarm::{Contention, Swarm, SwarmConfig};
use swarmspec::telemetry::Capture;

const LEDGER: &str = r#"
[[metric]]
name = "claims.conflict_percent"
unit = "%"
better = "lower"
kind = "ratio"
span = "work.claim"
where = { "work.outcome" = "conflict" }
over = { span = "work.claim" }
scale = 100
minimum = 10

[[metric]]
name = "claims.won"
unit = "claims"
better = "higher"
kind = "count"
span = "work.claim"
where = { "work.outcome" = ["claimed"] }

[[metric]]
name = "claims.p99_ms"
unit = "ms"
better = "lower"
kind = "percentile"
span = "work.claim"
quantile = 0.99
of = "duration_ms"

[[claim]]
id = "rare-conflicts"
statement = "fewer than 0.001 % of claims conflict"
metric = "claims.conflict_percent"
comparator = "<"
threshold = 0.001

[[claim]]
id = "every-item-won"
statement = "at least one winning claim per item"
metric = "claims.won"
comparator = ">="
threshold = 40

[[claim]]
id = "fast-claims"
statement = "p99 claim under 100 ms"
metric = "claims.p99_ms"
comparator = "<"
threshold = 100
"#;

fn racing_evidence() -> Evidence {
    let mut config = SwarmConfig::new(20, 40, 5);
    config.contention = Contention::High;
    let capture = Arc::new(Capture::new(config.seed));
    Swarm::new(config).run(Arc::clone(&capture)).expect("run");
    Evidence::from_capture(&capture).expect("capture")
}

// Proves claims on custom metrics are decided from evidence: the conflict ratio REFUTES a
// false claim, the count VERIFIES a true one, the duration percentile of a virtual-clock run
// leaves its claim UNVERIFIED with the reason; and the refuting figure is the hand count.
#[test]
fn custom_metrics_decide_claims_from_spans() {
    let ledger = Ledger::parse(LEDGER, "custom.toml").expect("ledger loads");
    let evidence = racing_evidence();
    let mut measurement = Measurement::default();
    swarmspec::claims::custom::measure_all(&ledger.metrics, &evidence, &mut measurement);
    let scenario = ScenarioMetrics {
        name: "racing".into(),
        observed: measurement.observed.clone(),
        unmeasured: measurement.unmeasured.clone(),
        standing: Standing::Passed,
        ..ScenarioMetrics::default()
    };
    let results = evaluate(&ledger, &[scenario]);
    let status = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.status)
            .expect("claim")
    };
    assert_eq!(status("rare-conflicts"), ClaimStatus::Refuted);
    assert_eq!(status("every-item-won"), ClaimStatus::Verified);
    assert_eq!(status("fast-claims"), ClaimStatus::Unverified);
    assert!(
        measurement.unmeasured["claims.p99_ms"].contains("virtual-clock"),
        "{:?}",
        measurement.unmeasured
    );

    // The refuting figure, counted by hand from the spans.
    let claims: Vec<_> = evidence.named("work.claim").collect();
    let conflicts = claims
        .iter()
        .filter(|s| s.attr_text("work.outcome").as_deref() == Some("conflict"))
        .count();
    assert!(conflicts > 0, "racing agents conflict");
    let by_hand = conflicts as f64 * 100.0 / claims.len() as f64;
    let refuted = results
        .iter()
        .find(|r| r.id == "rare-conflicts")
        .expect("claim");
    assert_eq!(refuted.observed, Some(by_hand));
    let won = claims
        .iter()
        .filter(|s| s.attr_text("work.outcome").as_deref() == Some("claimed"))
        .count();
    assert_eq!(measurement.observed["claims.won"], won as f64);
}

// Proves a custom metric below its minimum is unmeasured, not a vacuous figure: with a
// minimum above the run's claims, the ratio counts for no claim.
#[test]
fn custom_metric_below_minimum_is_unverified() {
    let text = LEDGER.replace("minimum = 10", "minimum = 100000");
    let ledger = Ledger::parse(&text, "custom.toml").expect("ledger loads");
    let mut measurement = Measurement::default();
    swarmspec::claims::custom::measure_all(&ledger.metrics, &racing_evidence(), &mut measurement);
    assert!(!measurement.observed.contains_key("claims.conflict_percent"));
    let why = &measurement.unmeasured["claims.conflict_percent"];
    assert!(why.contains("at least 100000 needed"), "{why}");
    let scenario = ScenarioMetrics {
        name: "racing".into(),
        observed: measurement.observed,
        unmeasured: measurement.unmeasured,
        ..ScenarioMetrics::default()
    };
    let results = evaluate(&ledger, &[scenario]);
    assert_eq!(results[0].status, ClaimStatus::Unverified);
}
