//! `verify --serve` shows the running scenario's swarm as `run --serve` shows a run: its
//! agents by state and its operations' rates, sampled while it runs. Read over HTTP from
//! the page's own snapshot endpoint, so it runs without a browser.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::live::{get, out_dir};
use super::live_views::Serving;

/// One swarm long enough to be sampled several times, then a scenario without a swarm.
const FEATURE: &str = r#"Feature: A swarm watched inside verify
  Scenario: a long swarm finishes every item
    Given deterministic mode
    And seed 11
    And a swarm of 150 developer agents
    And teams of sizes "50, 50, 50"
    And 200000 work items
    When the swarm runs
    Then every submitted work item is completed

  Scenario: a deploy without a swarm
    Given staging has 4 instances
    And a rolling strategy with batches of 2
    When "v2" is deployed to staging
    Then exactly 1 "deploy.run" span has "deploy.outcome" = "succeeded"
"#;

fn snapshot(url: &str) -> Value {
    let (status, body) = get(url, "/api/snapshot", None);
    assert_eq!(status, 200, "{body}");
    let json = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(json).expect("snapshot is JSON")
}

/// Agents in every group of an event, summed over states.
fn agents_in(event: &Value) -> u64 {
    event["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group["counts"].as_array().cloned().unwrap_or_default())
        .filter_map(|count| count.as_u64())
        .sum()
}

/// The newest kept tick's operations so far.
fn ops_so_far(swarm: &Value) -> u64 {
    swarm["ticks"]
        .as_array()
        .and_then(|ticks| ticks.last())
        .and_then(|tick| tick["ops_total"].as_u64())
        .unwrap_or(0)
}

// Proves the verify view charts the scenario's swarm: while the long swarm runs the
// snapshot names it, counts its 150 agents over 3 teams, and its ticks' operation total
// grows between two reads; the next scenario, which has no swarm, shows none.
#[test]
fn verify_view_charts_the_running_scenarios_swarm() {
    let dir = out_dir("verify-swarm");
    let features = dir.join("features");
    std::fs::create_dir_all(&features).expect("features dir");
    std::fs::write(features.join("watched.feature"), FEATURE).expect("feature");
    let (features, out) = (
        features.display().to_string(),
        dir.join("out").display().to_string(),
    );
    let history = dir.join("history.jsonl").display().to_string();
    let args = [
        "verify",
        "--features",
        &features,
        "--out",
        &out,
        "--history",
        &history,
        "--serve",
        "--serve-linger",
        "30",
    ];
    let served = Serving::start(&args, &dir, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reads: Vec<Value> = Vec::new();
    while Instant::now() < deadline {
        let swarm = snapshot(&served.url)["latest"]["swarm"].clone();
        let sampled = swarm["ticks"].as_array().is_some_and(|t| !t.is_empty());
        if sampled
            && reads
                .last()
                .is_none_or(|last| ops_so_far(last) < ops_so_far(&swarm))
        {
            reads.push(swarm);
        }
        if reads.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        reads.len() >= 2,
        "the swarm was not sampled twice with operations advancing: {reads:?}"
    );
    let swarm = &reads[1];
    assert_eq!(
        swarm["scenario"], "a long swarm finishes every item",
        "{swarm}"
    );
    assert!(
        swarm["run"]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("150 agents in 3 team(s), 200000 items, seed 11")),
        "{swarm}"
    );
    assert_eq!(agents_in(&swarm["event"]), 150, "{swarm}");
    let teams: std::collections::BTreeSet<u64> = swarm["event"]["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|group| group["team"].as_u64())
        .collect();
    assert_eq!(teams.len(), 3, "{swarm}");
    // The deploy scenario comes next and runs no swarm: the view shows none once it starts.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut latest = Value::Null;
    while Instant::now() < deadline {
        latest = snapshot(&served.url)["latest"].clone();
        if latest["done"].as_u64() >= Some(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(latest["done"], 2, "{latest}");
    assert!(
        latest["swarm"].is_null(),
        "a finished swarm outlived its scenario: {latest}"
    );
}
