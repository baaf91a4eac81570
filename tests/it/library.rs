//! Library-level checks that do not need Gherkin: determinism and the mutation check.

use std::sync::Arc;

use swarmspec::coordination::{Discipline, Mutant};
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
    config.discipline = Discipline::Mutant(Mutant::BlindWrite);
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

/// A processor that ignores every span: its only effect is to make a capture an exporting
/// one, so spans take the SDK path instead of the recorders' direct path.
#[derive(Debug)]
struct Ignore;

impl opentelemetry_sdk::trace::SpanProcessor for Ignore {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, _: opentelemetry_sdk::trace::SpanData) {}
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(
        &self,
        _: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

// Proves spans recorded straight into the compact store equal, span for span, those the
// same run records through the OpenTelemetry SDK (ids, times, parents, attributes, status).
#[test]
fn direct_recording_equals_sdk_recording() {
    let mut config = racing(21);
    config.faults = swarmspec::swarm::Faults::drawn_from(21, config.agent_count, 1);
    config.faults.error_rate = 0.05;
    let level = swarmspec::telemetry::CaptureLevel::Spans;
    let direct = Arc::new(Capture::with_level(config.seed, level));
    let through_sdk = Arc::new(Capture::with_exports(
        config.seed,
        level,
        vec![Box::new(Ignore)],
    ));
    for capture in [&direct, &through_sdk] {
        Swarm::new(config.clone())
            .run(Arc::clone(capture))
            .expect("run");
    }
    let direct = direct.spans().expect("direct spans");
    let through_sdk = through_sdk.spans().expect("sdk spans");
    assert!(
        direct.iter().any(|span| span.is_error()),
        "faults left error spans"
    );
    assert_eq!(digest::first_divergence(&direct, &through_sdk), None);
    assert_eq!(direct, through_sdk);
}
