//! Library-level checks that do not need Gherkin: determinism and the mutation check.

use std::sync::Arc;

use swarmspec::coordination::ClaimDiscipline;
use swarmspec::evidence::{digest, history, Evidence};
use swarmspec::swarm::{Contention, Swarm, SwarmConfig};
use swarmspec::telemetry::Capture;

fn run(config: &SwarmConfig) -> Evidence {
    let capture = Arc::new(Capture::new(config.seed));
    Swarm::new(config.clone())
        .run(Arc::clone(&capture))
        .expect("run");
    Evidence::from_capture(&capture).expect("capture")
}

fn racing(seed: u64) -> SwarmConfig {
    let mut config = SwarmConfig::new(100, 200, seed);
    config.contention = Contention::High;
    config
}

// Proves the same seed gives an identical event sequence, span for span.
#[test]
fn same_seed_same_events() {
    let first = run(&racing(11));
    let second = run(&racing(11));
    assert_eq!(digest::first_divergence(&first.spans, &second.spans), None);
    assert_eq!(
        digest::span_digest(&first.spans),
        digest::span_digest(&second.spans)
    );
}

// Proves the digest depends on the seed (a constant digest would make the test above hollow).
#[test]
fn another_seed_other_events() {
    let first = run(&racing(11));
    let other = run(&racing(12));
    assert!(digest::first_divergence(&first.spans, &other.spans).is_some());
}

// Proves a broken claim is caught, with the item and both agents named in the evidence.
#[test]
fn broken_engine_is_caught_with_names() {
    let mut config = racing(5);
    config.discipline = ClaimDiscipline::BlindWrite;
    let verdict = history::no_overlapping_holds(&run(&config).spans);
    assert!(!verdict.passed, "{verdict}");
    let first = &verdict.evidence[0];
    assert!(
        first.contains("work_") && first.matches("agent_").count() == 2,
        "{first}"
    );
}

// Proves the correct engine passes the same check on the same workload.
#[test]
fn correct_engine_passes() {
    let verdict = history::no_overlapping_holds(&run(&racing(5)).spans);
    assert!(verdict.passed, "{verdict}");
}
