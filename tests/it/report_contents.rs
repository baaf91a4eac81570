//! What `swarmspec verify`'s reports say about each scenario: where it is written, its tags
//! and Rule, its duration, every verdict with expected and observed, the failure and the
//! replay command, in JSON, Markdown, HTML and JUnit; a `@retry` scenario counted once with
//! its attempts; unknown-step warnings in every report; a labelled timeline.

use std::path::PathBuf;
use std::process::{Command, Output};

const FEATURE: &str = "Feature: explain
  Rule: counts are what they are

    @count @retry(1)
    Scenario: too few claims
      Given deterministic mode
      And a swarm of 4 developer agents
      And 8 work items
      When the swarm runs
      Then exactly 3 \"work.claim\" spans were recorded

  @timeline
  Scenario: a passing race
    Given deterministic mode
    And a swarm of 4 developer agents
    And 8 work items
    And the agents race for the same items
    When the swarm runs
    Then no work item was held by two agents at the same time

  Scenario: a step nobody wrote
    Given deterministic mode
    When the agents fly to the moon
";

const LEDGER: &str = "[[metric]]
name = \"claims.won\"
unit = \"claims\"
better = \"higher\"
kind = \"count\"
span = \"work.claim\"
where = { \"work.outcome\" = \"claimed\" }

[[claim]]
id = \"no-conflicts\"
statement = \"no item held twice\"
metric = \"coordination.double_holds\"
comparator = \"==\"
threshold = 0

[[claim]]
id = \"items-won\"
statement = \"every item won at least once\"
metric = \"claims.won\"
comparator = \">=\"
threshold = 8
";

struct Run {
    dir: PathBuf,
    output: Output,
}

impl Run {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("swarmspec-report-contents-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("features")).expect("temp dir");
        std::fs::write(dir.join("features/explain.feature"), FEATURE).expect("feature");
        std::fs::write(dir.join("claims.toml"), LEDGER).expect("ledger");
        let output = Command::new(env!("CARGO_BIN_EXE_swarmspec"))
            .current_dir(&dir)
            .args(["verify", "--out", "out"])
            .output()
            .expect("swarmspec runs");
        Self { dir, output }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join("out").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn contains_all(what: &str, text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{what} lacks «{needle}»:\n{text}");
    }
}

// Proves every report explains the failed scenario (file:line, Rule, tags, verdict's expected
// and observed, failure text, replay command, duration), counts the retried scenario once
// with its earlier attempt, and carries the unknown-step warning; and the timeline is
// labelled, coloured by outcome, with an axis and tooltips.
#[test]
fn reports_explain_each_scenario() {
    let run = Run::new();
    assert!(
        !run.output.status.success(),
        "a failing scenario fails the run"
    );
    let report: serde_json::Value = serde_json::from_str(&run.read("report.json")).expect("json");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), 3, "the retried scenario is one scenario");
    assert_eq!(report["summary"]["scenarios"], 3);
    let failed = scenarios
        .iter()
        .find(|s| s["name"] == "too few claims")
        .expect("the failing scenario");
    assert_eq!(failed["location"], "explain.feature:5");
    assert_eq!(failed["rule"], "counts are what they are");
    assert_eq!(failed["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(failed["attempts"][0]["status"], "Failed");
    assert!(failed["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0));
    let verdict = &failed["verdicts"][0];
    assert_eq!(verdict["passed"], false);
    assert!(verdict["expected"]
        .as_str()
        .is_some_and(|e| e.contains("exactly 3")));
    let replay = failed["replay"].as_str().expect("replay");
    let seed = failed["seed"].as_u64().expect("seed");
    assert_eq!(
        replay,
        format!("swarmspec verify --seed {seed} --name 'too few claims'")
    );
    // `verify` measures the ledger's own metric on each scenario's evidence.
    let won = report["claims"]
        .as_array()
        .and_then(|claims| claims.iter().find(|c| c["id"] == "items-won"))
        .expect("the custom claim");
    assert_eq!(won["status"], "Verified", "{won}");
    let warnings = report["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("fly to the moon"))),
        "{warnings:?}"
    );

    let markdown = run.read("report.md");
    contains_all(
        "report.md",
        &markdown,
        &[
            "`explain.feature:5`",
            "rule: counts are what they are",
            "`@count @retry(1)`",
            "FAIL",
            "expected exactly 3",
            &format!("replay: `{replay}`"),
            "attempt 1: failed",
            "## Warnings",
            "fly to the moon",
            "## Durations",
        ],
    );

    let junit = run.read("junit.xml");
    contains_all(
        "junit.xml",
        &junit,
        &[
            "file=\"explain.feature:5\" time=\"",
            &format!("<property name=\"seed\" value=\"{seed}\"/>"),
            "<property name=\"system\" value=\"memory\"/>",
            "<property name=\"attempts\" value=\"2\"/>",
            "<failure message=\"",
            "replay: swarmspec verify",
            "<system-err>",
            "fly to the moon",
        ],
    );
    assert_eq!(
        junit.matches("name=\"too few claims\"").count(),
        1,
        "one test case for the retried scenario"
    );

    let html = run.read("report.html");
    contains_all(
        "report.html",
        &html,
        &[
            "<details open><summary>details</summary>",
            "<code>explain.feature:5</code>",
            "Rule: counts are what they are",
            "expected",
            "<code class=\"replay\">swarmspec verify --seed",
            "(2 attempts)",
            "id=\"warnings\"",
            "fly to the moon",
            "<g class=\"span ok\">",
            "<title>work.claim — agent ",
            "class=\"tick\"",
            "time since the first span",
            ">conflict</text>",
        ],
    );
}
