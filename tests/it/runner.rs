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
    swarmspec::steps::set_executable(env!("CARGO_BIN_EXE_swarmspec"));
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

// Proves docs/steps.md is what the step sources generate today (CI fails when it is stale).
#[test]
fn step_catalogue_page_is_current() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/steps.md"))
        .unwrap_or_default();
    let fresh = steps::catalogue::markdown(&steps::catalogue::catalogue());
    assert!(
        page == fresh,
        "docs/steps.md is out of date: run `cargo run -- steps --markdown > docs/steps.md`"
    );
}

// Proves every step definition is in the catalogue with a working regex and doc.
#[test]
fn every_step_is_catalogued() {
    let entries = steps::catalogue::catalogue();
    let sources = [
        "coordination",
        "resilience",
        "telemetry",
        "deployment",
        "compliance",
        "ingestion",
        "processes",
        "real_systems",
        "memory",
        "systems",
        "reactions",
        "database",
    ];
    let defined: usize = sources
        .iter()
        .map(|name| {
            let path = format!("{}/steps/{name}.rs", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(path).expect("step source");
            text.lines()
                .filter(|l| {
                    ["#[given(", "#[when(", "#[then("]
                        .iter()
                        .any(|a| l.trim_start().starts_with(a))
                })
                .count()
        })
        .sum();
    assert_eq!(entries.len(), defined);
    assert!(entries.iter().all(|e| !e.doc.is_empty()));
}

// Proves a syntax error is located and an unknown step gets suggestions, before any run.
#[test]
fn precheck_locates_problems() {
    let dir = std::env::temp_dir().join(format!("swarmspec-precheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("a.feature"), "Feature: a\n  Scenario: s\n    Given a swarm of 5 developer agents\n    Then every submitted work item is complete\n").expect("write");
    std::fs::write(dir.join("b.feature"), "Feature: b\n  Scenario: s\n    Given a swarm of 5 developer agents\n    not gherkin at all\n").expect("write");
    let problems = steps::precheck::check(&dir, &steps::catalogue::catalogue());
    let _ = std::fs::remove_dir_all(&dir);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].contains("a.feature:4:10: unknown step")
            && text[0].contains("«Then every submitted work item is completed»"),
        "{}",
        text[0]
    );
    assert!(
        text[1].contains("b.feature:4:5: «not gherkin at all» is not valid Gherkin"),
        "{}",
        text[1]
    );
}

// Proves a generic step naming a span or attribute no span carries fails as vacuous, while
// the same steps with the right names pass, and a known span may be absent on purpose.
#[test]
fn vacuous_steps_fail() {
    for vacuous in [
        "Then no \"work.claims\" span has status error",
        "Then exactly 0 \"work.claim\" spans have \"work.outcom\" = \"x\"",
        "Then exactly 0 \"s2s.work.claim\" spans were recorded",
        "Then every \"work.completes\" span has a parent \"work.submit\" span",
    ] {
        assert!(!run_feature(&probe(vacuous)), "passed vacuously: {vacuous}");
    }
    for real in [
        "Then no \"work.claim\" span has status error",
        "Then exactly 0 \"work.claim\" spans have \"work.outcome\" = \"x\"",
        "Then exactly 0 \"deploy.rollback\" spans were recorded",
        "Then every \"work.complete\" span has a parent \"work.submit\" span",
    ] {
        assert!(run_feature(&probe(real)), "failed: {real}");
    }
}

// Proves a scenario without a Then does not pass the suite silently as a pass: it is
// reported with its own status, "no assertion".
#[test]
fn a_scenario_without_then_is_no_assertion() {
    let text = "Feature: silent\n  Scenario: silent\n    Given deterministic mode\n    And a swarm of 5 developer agents\n    And 5 work items\n    When the swarm runs\n";
    let (_dir, suite) = super::suite::run_text("silent.feature", text);
    assert_eq!(
        suite.scenarios[0].status,
        swarmspec::report::ScenarioStatus::NoAssertion
    );
}

// Proves a swarm run that fails says why in the scenario's failure, not only "swarm run
// failed (seed N)": the cause (team sizes that do not add up) is in the message.
#[test]
fn a_failed_swarm_run_carries_its_cause() {
    let text = "Feature: probe\n  Scenario: probe\n    Given deterministic mode\n    \
                And a swarm of 5 developer agents\n    And teams of sizes \"2,2\"\n    \
                And 5 work items\n    When the swarm runs\n    \
                Then every submitted work item is completed\n";
    let (_dir, outcome) = super::suite::run_text("probe.feature", text);
    let failure = outcome
        .scenarios
        .first()
        .and_then(|scenario| scenario.failure.clone())
        .unwrap_or_default();
    assert!(failure.contains("swarm run failed (seed"), "{failure}");
    assert!(failure.contains("do not add up to 5 agents"), "{failure}");
}
