//! The vacuous-step guard, and the vocabulary kept true against real runs.

use std::sync::Arc;

use super::*;
use crate::deployment::{Action, DeploymentPlan, Environment};
use crate::evidence::Evidence;
use crate::swarm::{Swarm, SwarmConfig};
use crate::telemetry::Capture;

fn swarm_spans() -> Vec<SpanRecord> {
    let mut config = SwarmConfig::new(6, 12, 5);
    config.pipeline = vec![
        crate::coordination::Role::Architect,
        crate::coordination::Role::Developer,
    ];
    let capture = Arc::new(Capture::new(5));
    Swarm::new(config)
        .run(Arc::clone(&capture))
        .expect("swarm runs");
    Evidence::from_capture(&capture).expect("evidence").spans
}

// Proves a misspelt span name fails with the recorded names closest first, while a correct
// one passes.
#[test]
fn misspelt_span_names_are_vacuous() {
    let spans = swarm_spans();
    let verdict = span_name_guard(&spans, "work.claims", Intent::MayBeAbsent).expect("vacuous");
    assert!(!verdict.passed);
    assert!(
        verdict.evidence[0].contains("closest first: work.claim,"),
        "{}",
        verdict.evidence[0]
    );
    assert!(span_name_guard(&spans, "work.claim", Intent::Present).is_none());
}

// Proves an absence step about a known span that did not occur is not vacuous, but a step
// that needs the spans to exist is.
#[test]
fn known_names_may_be_absent_on_purpose() {
    let spans = swarm_spans();
    assert!(span_name_guard(&spans, "deploy.rollback", Intent::MayBeAbsent).is_none());
    assert!(span_name_guard(&spans, "deploy.rollback", Intent::Present).is_some());
    assert!(span_name_guard(&spans, "s2s.work.claim", Intent::MayBeAbsent).is_some());
}

// Proves a misspelt attribute key fails even in an absence step.
#[test]
fn misspelt_attribute_keys_are_vacuous() {
    let spans = swarm_spans();
    let verdict = guard(
        &spans,
        "work.claim",
        Some("work.outcom"),
        Intent::MayBeAbsent,
    )
    .expect("vacuous");
    assert!(
        verdict.evidence[0].contains("work.outcome"),
        "{}",
        verdict.evidence[0]
    );
    assert!(guard(&spans, "work.claim", Some("work.outcome"), Intent::Present).is_none());
}

// Proves every span name and attribute key a swarm and a deploy emit is in the vocabulary,
// so the vocabulary stays true as the emitters change.
#[test]
fn the_vocabulary_covers_what_swarmspec_emits() {
    let mut spans = swarm_spans();
    // A faulty swarm too: crashes, outages, partitions, errors, breakers and reaps.
    for seed in 1..4 {
        let mut config = SwarmConfig::new(12, 24, seed);
        config.faults = crate::swarm::Faults::drawn_from(seed, 12, 1);
        config.lease_duration = std::time::Duration::from_millis(30);
        let capture = Arc::new(Capture::new(seed));
        Swarm::new(config)
            .run(Arc::clone(&capture))
            .expect("faulty swarm runs");
        spans.extend(Evidence::from_capture(&capture).expect("evidence").spans);
    }
    let plan = DeploymentPlan::default();
    let action = Action::ThroughAll {
        version: "v2".into(),
    };
    let _ = Environment::ALL;
    spans.extend(plan.run(&action, 3).expect("deploy runs").0.spans);
    let mut unknown = BTreeSet::new();
    for span in &spans {
        if !SPAN_NAMES.contains(&span.name.as_str()) {
            unknown.insert(format!("span {}", span.name));
        }
        for (key, _) in &span.attributes {
            if !ATTRIBUTE_KEYS.contains(&&**key) {
                unknown.insert(format!("attribute {key} (on {})", span.name));
            }
        }
    }
    assert!(unknown.is_empty(), "not in the vocabulary: {unknown:?}");
}
