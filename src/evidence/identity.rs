//! Identifier checks on `agent.register` spans: unique, well-formed, and ordered by creation
//! (if one registration ended before another began, its id is the smaller).

use std::collections::HashSet;

use super::Verdict;
use crate::ids::AgentId;
use crate::telemetry::SpanRecord;

/// Agent ids are unique, parse, sort as text like as numbers, and follow creation order.
pub fn agent_ids_unique_and_sortable(spans: &[SpanRecord], expected_count: usize) -> Verdict {
    let mut registrations: Vec<(u64, u64, String)> = spans
        .iter()
        .filter(|s| s.name == "agent.register")
        .filter_map(|s| {
            s.attr_text("agent.id")
                .map(|id| (s.start_unix_ns, s.end_unix_ns, id))
        })
        .collect();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (_, _, id) in &registrations {
        if AgentId::parse(id).is_none() {
            problems.push(format!("{id} is not a well-formed agent id"));
        }
        if !seen.insert(id.clone()) {
            problems.push(format!("{id} was issued twice"));
        }
    }
    let mut as_text: Vec<&String> = registrations.iter().map(|r| &r.2).collect();
    as_text.sort();
    let numeric_order = as_text
        .windows(2)
        .all(|w| AgentId::parse(w[0]).map(|a| a.0) <= AgentId::parse(w[1]).map(|b| b.0));
    if !numeric_order {
        problems.push("text order of ids differs from numeric order".into());
    }
    // Happens-before: walk registrations by start; every one that ended earlier must have a
    // smaller id than the current one.
    let mut by_end: Vec<(u64, u64)> = registrations
        .iter()
        .filter_map(|(_, end, id)| AgentId::parse(id).map(|a| (*end, a.0)))
        .collect();
    by_end.sort_unstable();
    registrations.sort();
    let (mut next_ended, mut largest_ended) = (0, None::<u64>);
    for (start, _, id) in &registrations {
        while next_ended < by_end.len() && by_end[next_ended].0 < *start {
            largest_ended = largest_ended.max(Some(by_end[next_ended].1));
            next_ended += 1;
        }
        if let (Some(largest), Some(this)) = (largest_ended, AgentId::parse(id)) {
            if this.0 <= largest {
                problems.push(format!("{id} was created after an agent with a larger id"));
            }
        }
    }
    let passed = problems.is_empty() && registrations.len() == expected_count;
    Verdict::new(
        "agent ids are unique and sortable by creation time",
        passed,
        format!("{expected_count} distinct, ordered ids"),
        format!(
            "{} ids, {} distinct, {} problems",
            registrations.len(),
            seen.len(),
            problems.len()
        ),
        problems,
    )
}
