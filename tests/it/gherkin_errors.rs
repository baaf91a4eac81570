//! Gherkin mistakes get `file:line:column` and the precise cause (issue 14, defect 9), from
//! the pre-check and, for a scenario cucumber skips, from the runner too.

use super::steps;

/// Pre-checks `text` as `probe.feature` and returns each problem as printed, with the
/// file's directory cut off.
fn problems(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("probe.feature"), text).expect("write feature");
    let found = steps::precheck::check(dir.path(), &steps::catalogue::catalogue());
    let prefix = format!("{}/", dir.path().display());
    found
        .iter()
        .map(|p| p.to_string().replace(&prefix, ""))
        .collect()
}

fn check(text: &str, expected: &[&str]) {
    let found = problems(text);
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (found, expected) in found.iter().zip(expected) {
        assert!(
            found.starts_with(expected),
            "«{found}» should start «{expected}»"
        );
    }
}

// Proves a line no keyword starts is reported on its own line (the parser gives up a line
// later), and that an unknown step after it is still found: one mistake hides no other.
#[test]
fn syntax_error_on_its_line_and_the_rest_still_checked() {
    check(
        "Feature: f\n  Scenario: s\n    Given 5 work items\n    the swarm runs\n    Then every submitted work item is completed\n\n  Scenario: t\n    Given 5 work items\n    Then the swarm is happy\n",
        &[
            "probe.feature:4:5: «the swarm runs» is not valid Gherkin here",
            "probe.feature:9:10: unknown step «the swarm is happy»",
        ],
    );
    check(
        "Feature: g\n\n  Scenario: s\n    Given 5 work items\n\n  garbage here\n\n  Scenario: t\n    Given 5 work items\n",
        &["probe.feature:6:3: «garbage here» is not valid Gherkin here"],
    );
}

// Proves misspelt keywords are named with the keyword meant: a step keyword in a scenario,
// and a file whose only Scenario keyword is misspelt, which used to run nothing and say
// only "no step ran".
#[test]
fn misspelt_keywords_named() {
    check(
        "Feature: a\n  Scenario: s\n    Given 5 work items\n    Whn the swarm runs\n",
        &["probe.feature:4:5: «Whn» is not a Gherkin keyword; did you mean «When»?"],
    );
    check(
        "Feature: b\n  Scenaro: s\n    Given 5 work items\n    When the swarm runs\n",
        &["probe.feature:2:3: «Scenaro:» is not a Gherkin keyword; did you mean «Scenario»?"],
    );
}

// Proves a parameter its type refuses is named as such, not as an unknown step, in a plain
// step and in an outline's examples row (with the row's line).
#[test]
fn refused_parameter_named() {
    check(
        "Feature: c\n  Scenario: s\n    Given abc work items\n",
        &["probe.feature:3:11: «abc» is not a whole number for {int} in «Given {int} work items»"],
    );
    check(
        "Feature: c\n  Scenario Outline: s\n    Given <n> work items\n\n    Examples:\n      | n |\n      | 5 |\n      | x |\n",
        &["probe.feature:3:11: «x» is not a whole number for {int} in «Given {int} work items» (examples row at line 8)"],
    );
}

// Proves a Given step written where it counts as a Then is named with both keywords by the
// pre-check, and by the runner's scenario failure (once only "a step has no definition").
#[test]
fn step_of_another_keyword_named() {
    let text = "Feature: d\n  Scenario: s\n    Given deterministic mode\n    And 5 work items\n    When the swarm runs\n    Then every submitted work item is completed\n    And 5 work items\n";
    check(
        text,
        &["probe.feature:7:9: «5 work items» is a Given step, but here it counts as a Then step"],
    );
    let (_dir, outcome) = super::suite::run_text("probe.feature", text);
    assert!(!outcome.passed);
    let failure = outcome.scenarios[0].failure.clone().unwrap_or_default();
    assert!(
        failure.contains("probe.feature:7:9: «5 work items» is a Given step"),
        "{failure}"
    );
}

// Proves a data table or doc string on a step that reads none is an error at the step's
// file:line (cucumber would drop it silently), while the steps that read one stay clean.
#[test]
fn attachments_only_where_a_step_reads_them() {
    check(
        "Feature: t\n  Scenario: s\n    Given 5 work items\n      | a | b |\n      | 1 | 2 |\n    When the swarm runs\n      \"\"\"\n      text\n      \"\"\"\n",
        &[
            "probe.feature:3:11: «5 work items» takes no data table or doc string, but a data table",
            "probe.feature:6:10: «the swarm runs» takes no data table or doc string, but a doc string",
        ],
    );
}

// Proves the custom parameter types say what they take: a duration without a known unit
// is refused naming {duration}, and `->` in a pipeline is as good as `→`.
#[test]
fn custom_parameters_refuse_with_their_name() {
    check(
        "Feature: d\n  Scenario: s\n    Given leases last 3 fortnights\n",
        &["probe.feature:3:11: «3 fortnights» is not a duration with a unit"],
    );
    check(
        "Feature: p\n  Scenario: s\n    Given a swarm of 4 agents working the pipeline \"pm -> developer\"\n    And 2 work items\n    When the swarm runs\n    Then every item passed \"pm -> developer\" in order\n",
        &[],
    );
}
