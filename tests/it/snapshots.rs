//! Snapshots of what a seeded deterministic run reports: the Markdown body and the JSON
//! summary with claims. Neither holds a time, a path or a machine name, so they are stable.

use std::path::Path;

use swarmspec::claims::{self, Ledger, ScenarioMetrics};
use swarmspec::report::ScenarioResult;
use swarmspec::report::{markdown, Machine, RunInfo, RunReport, Summary};

use swarmspec::steps::{run_suite, SuiteOptions};

const FEATURE: &str = "Feature: snapshot
  @race
  Scenario: racing claims
    Given deterministic mode
    And seed 3
    And a swarm of 30 developer agents
    And 60 work items
    And the agents race for the same items
    When the swarm runs
    Then no work item was held by two agents at the same time
    And exactly 1 \"work.claim\" span has \"work.outcome\" = \"claimed\" for each work item

  @race
  Scenario: handoffs
    Given deterministic mode
    And seed 4
    And a swarm of 9 agents working the pipeline \"pm → architect → developer\"
    And 6 work items
    When the swarm runs
    Then every item passed \"pm → architect → developer\" in order
";

const LEDGER: &str = "[[claim]]
id = \"no-conflicts\"
statement = \"no item held twice\"
metric = \"coordination.double_holds\"
comparator = \"==\"
threshold = 0
tags = [\"race\"]

[[claim]]
id = \"all-done\"
statement = \"every item completed\"
metric = \"work.completion_percent\"
comparator = \">=\"
threshold = 100
tags = [\"race\"]

[[claim]]
id = \"fast\"
statement = \"fast on the real clock\"
metric = \"work.claim.throughput_ops_s\"
comparator = \">\"
threshold = 1000
tags = [\"perf\"]
";

fn seeded_report(dir: &Path) -> RunReport {
    std::fs::create_dir_all(dir.join("features")).expect("temp dir");
    std::fs::write(dir.join("features/snapshot.feature"), FEATURE).expect("feature");
    let options = SuiteOptions {
        features_dir: dir.join("features"),
        reports_dir: dir.join("reports"),
        quiet: true,
        ..SuiteOptions::default()
    };
    swarmspec::steps::set_executable(env!("CARGO_BIN_EXE_swarmspec"));
    let mut suite = futures::executor::block_on(run_suite(&options)).expect("suite runs");
    for scenario in &mut suite.scenarios {
        scenario.set_replay(None, None);
    }
    let ledger = Ledger::parse(LEDGER, "snapshot ledger").expect("ledger");
    let measured: Vec<ScenarioMetrics> = suite
        .scenarios
        .iter()
        .map(ScenarioResult::for_claims)
        .collect();
    let claims = claims::evaluate(&ledger, &measured);
    RunReport {
        run: RunInfo {
            run_id: "snapshot".into(),
            started_unix_s: 0,
            seed_override: None,
            tags: None,
            ledger: "snapshot ledger".into(),
            features: "features".into(),
            machine: Machine {
                cores: 2,
                os: "linux".into(),
                arch: "x86_64".into(),
            },
        },
        summary: Summary::of(&suite.scenarios, &claims),
        claims,
        scenarios: suite.scenarios,
        mutants: None,
        warnings: suite.problems,
    }
}

// Proves the Markdown body and the JSON summary of a seeded run are what was reviewed.
#[test]
fn seeded_run_reports_are_stable() {
    let dir = std::env::temp_dir().join(format!("swarmspec-snapshot-{}", std::process::id()));
    let report = seeded_report(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    insta::assert_snapshot!("report_md_body", markdown::render_body(&report));
    let summary = serde_json::json!({ "summary": report.summary, "claims": report.claims });
    insta::assert_json_snapshot!("report_json_summary", summary);
}
