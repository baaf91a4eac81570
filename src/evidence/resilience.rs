//! Invariants checked under faults: acknowledged completions stay completed, every item ends
//! completed or explicitly failed, and the run ends.

use std::collections::HashMap;

use super::Verdict;
use crate::telemetry::SpanRecord;

fn item_stage(span: &SpanRecord) -> Option<(String, String)> {
    Some((
        span.attr_text("work.item_id")?,
        span.attr_text("work.stage")?,
    ))
}

/// Every acknowledged completion in `spans` that was later reopened (a claim of that stage
/// again, or a reap), worded, and how many completions were acknowledged.
pub fn reopened_completions(spans: &[SpanRecord]) -> (Vec<String>, usize) {
    let mut acknowledged: HashMap<(String, String), (u64, String)> = HashMap::new();
    for span in spans.iter().filter(|s| s.name == "work.complete") {
        if span.attr_text("work.outcome").as_deref() != Some("completed") {
            continue;
        }
        if let Some(key) = item_stage(span) {
            let agent = span.attr_text("agent.id").unwrap_or_default();
            let entry = acknowledged.entry(key).or_insert((span.end_unix_ns, agent));
            entry.0 = entry.0.min(span.end_unix_ns);
        }
    }
    let mut lost = Vec::new();
    for span in spans {
        let reopening = match span.name.as_str() {
            "work.claim" => span.attr_text("work.outcome").as_deref() == Some("claimed"),
            "lease.reap" => true,
            _ => false,
        };
        let Some(key) = item_stage(span).filter(|_| reopening) else {
            continue;
        };
        if let Some((acked_at, by)) = acknowledged.get(&key) {
            if span.start_unix_ns >= *acked_at {
                lost.push(format!(
                    "{} stage {}: completed by {by}, then {} by {}",
                    key.0,
                    key.1,
                    span.name,
                    span.attr_text("agent.id")
                        .unwrap_or_else(|| "the reaper".into())
                ));
            }
        }
    }
    (lost, acknowledged.len())
}

/// No acknowledged completion was lost: once a `work.complete` answered `completed` for an
/// item at a stage, nobody claimed that stage of the item again and no reaper reopened it.
pub fn no_lost_completions(spans: &[SpanRecord]) -> Verdict {
    let (lost, acknowledged) = reopened_completions(spans);
    Verdict::new(
        "no acknowledged completion is lost",
        lost.is_empty() && acknowledged > 0,
        "0 completed stages reopened (among at least 1 completion)",
        format!(
            "{} of {} acknowledged completions reopened",
            lost.len(),
            acknowledged
        ),
        lost,
    )
}

/// Every submitted item ends either completed at `last_stage` or with a `work.fail` span
/// that gives a reason.
pub fn every_item_resolved(spans: &[SpanRecord], last_stage: usize) -> Verdict {
    let (submitted, unfinished) = super::history::unfinished_items(spans, last_stage);
    let failed: HashMap<String, String> = spans
        .iter()
        .filter(|s| s.name == "work.fail")
        .filter_map(|s| {
            Some((
                s.attr_text("work.item_id")?,
                s.attr_text("work.failure_reason")?,
            ))
        })
        .filter(|(_, reason)| !reason.trim().is_empty())
        .collect();
    let unresolved: Vec<String> = unfinished
        .iter()
        .filter(|item| !failed.contains_key(*item))
        .map(|item| format!("{item} neither completed nor failed with a reason"))
        .collect();
    Verdict::new(
        "every item ends completed or failed with a reason",
        unresolved.is_empty() && !submitted.is_empty(),
        "0 unresolved items",
        format!(
            "{} completed, {} failed with a reason, {} unresolved, of {}",
            submitted.len() - unfinished.len(),
            unfinished.len() - unresolved.len(),
            unresolved.len(),
            submitted.len()
        ),
        unresolved,
    )
}

/// The run ended: its `swarm.run` span closed within `bound_s` and every agent that
/// registered closed its session.
pub fn run_ended_within(spans: &[SpanRecord], bound_s: f64) -> Verdict {
    let runs: Vec<&SpanRecord> = spans.iter().filter(|s| s.name == "swarm.run").collect();
    let registered = spans.iter().filter(|s| s.name == "agent.register").count();
    let sessions = spans.iter().filter(|s| s.name == "agent.session").count();
    let duration_s = runs.first().map(|r| r.duration_ns() as f64 / 1e9);
    let mut problems = Vec::new();
    if runs.len() != 1 {
        problems.push(format!("{} swarm.run spans, expected 1", runs.len()));
    }
    if sessions != registered {
        problems.push(format!(
            "{registered} agents registered but {sessions} sessions ended"
        ));
    }
    if duration_s.is_some_and(|d| d >= bound_s) {
        problems.push(format!(
            "the run took {:.3} s",
            duration_s.unwrap_or_default()
        ));
    }
    Verdict::new(
        "the run ends in bounded time",
        problems.is_empty(),
        format!("1 run under {bound_s} s, every session closed"),
        format!(
            "run of {}",
            duration_s.map_or("unknown length".into(), |d| format!("{d:.3} s"))
        ),
        problems,
    )
}
