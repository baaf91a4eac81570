//! Circuit-breaker evidence: the transitions agents recorded, and that an open circuit
//! really kept the agent from calling the coordinator.

use std::collections::BTreeMap;

use super::Verdict;
use crate::telemetry::SpanRecord;

fn transitions(spans: &[SpanRecord]) -> BTreeMap<String, Vec<(u64, String, String)>> {
    let mut by_agent: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name == "circuit.transition") {
        by_agent
            .entry(span.attr_text("agent.id").unwrap_or_default())
            .or_default()
            .push((
                span.start_unix_ns,
                span.attr_text("circuit.from").unwrap_or_default(),
                span.attr_text("circuit.to").unwrap_or_default(),
            ));
    }
    for list in by_agent.values_mut() {
        list.sort();
    }
    by_agent
}

/// At least one agent's breaker went closed → open → half_open → closed, in that order.
pub fn full_cycle_observed(spans: &[SpanRecord]) -> Verdict {
    let by_agent = transitions(spans);
    let wanted = ["open", "half_open", "closed"];
    let cycled: Vec<String> = by_agent
        .iter()
        .filter(|(_, list)| {
            let targets: Vec<&str> = list.iter().map(|(_, _, to)| to.as_str()).collect();
            targets.windows(3).any(|w| w == wanted)
                && list.first().is_some_and(|(_, from, _)| from == "closed")
        })
        .map(|(agent, _)| agent.clone())
        .collect();
    Verdict::new(
        "a circuit breaker opens and recovers",
        !cycled.is_empty(),
        "at least 1 agent with closed → open → half_open → closed",
        format!(
            "{} of {} agents with transitions completed the cycle",
            cycled.len(),
            by_agent.len()
        ),
        cycled
            .into_iter()
            .take(3)
            .map(|a| format!("{a} cycled"))
            .collect(),
    )
}

/// No agent called the coordinator while its circuit was open.
pub fn silent_while_open(spans: &[SpanRecord]) -> Verdict {
    let by_agent = transitions(spans);
    let mut windows: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for (agent, list) in &by_agent {
        for (i, (at, _, to)) in list.iter().enumerate() {
            if to == "open" {
                let until = list[i + 1..].first().map_or(u64::MAX, |(next, _, _)| *next);
                windows
                    .entry(agent.as_str())
                    .or_default()
                    .push((*at, until));
            }
        }
    }
    let calls = |s: &&SpanRecord| s.name.starts_with("work.") || s.name == "agent.heartbeat";
    let mut violations = Vec::new();
    for span in spans.iter().filter(calls) {
        let Some(agent) = span.attr_text("agent.id") else {
            continue;
        };
        let Some(open) = windows.get(agent.as_str()) else {
            continue;
        };
        if open
            .iter()
            .any(|&(from, until)| span.start_unix_ns > from && span.start_unix_ns < until)
        {
            violations.push(format!(
                "{} called {} while its circuit was open",
                agent, span.name
            ));
        }
    }
    let open_windows: usize = windows.values().map(Vec::len).sum();
    Verdict::new(
        "no coordinator calls while a circuit is open",
        violations.is_empty() && open_windows > 0,
        "0 calls inside open windows (and at least 1 open window)",
        format!(
            "{} calls inside {open_windows} open windows",
            violations.len()
        ),
        violations,
    )
}
