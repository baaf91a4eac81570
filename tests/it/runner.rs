//! The cucumber runner fails on what a lenient runner would let through.

use super::steps;

fn run_feature(text: &str) -> bool {
    let dir = std::env::temp_dir().join(format!(
        "swarmspec-runner-{}-{}",
        std::process::id(),
        text.len()
    ));
    let features = dir.join("features");
    std::fs::create_dir_all(&features).expect("temp dir");
    std::fs::write(features.join("probe.feature"), text).expect("write feature");
    let passed = futures::executor::block_on(steps::run_features(&features, &dir.join("reports")))
        .expect("the runner starts");
    let _ = std::fs::remove_dir_all(&dir);
    passed
}

fn probe(step: &str) -> String {
    format!(
        "Feature: probe\n  Scenario: probe\n    Given deterministic mode\n    And a swarm of 5 developer agents\n    And 5 work items\n    When the swarm runs\n    {step}\n"
    )
}

// Proves the probe passes with a known step, so the failures below come from the step alone.
#[test]
fn known_steps_pass() {
    assert!(run_feature(&probe(
        "Then every submitted work item is completed"
    )));
}

// Proves an undefined step fails the run instead of being skipped.
#[test]
fn unknown_step_fails_the_suite() {
    assert!(!run_feature(&probe("Then the swarm is happy")));
}

// Proves a failed verdict fails the run.
#[test]
fn failed_verdict_fails_the_suite() {
    assert!(!run_feature(&probe(
        "Then exactly 6 \"work.submit\" spans were recorded"
    )));
}

// Proves a file that does not parse fails the run.
#[test]
fn unparsable_feature_fails_the_suite() {
    let text = "Feature: broken\n  Scenario: s\n    Given a swarm of 5 developer agents\n    this line is not gherkin\n";
    assert!(!run_feature(text));
}

// Proves a directory with no scenario fails rather than passing vacuously.
#[test]
fn empty_suite_fails() {
    assert!(!run_feature("Feature: nothing to see\n"));
}
