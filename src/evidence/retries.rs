//! What agents did after a failure or a lost race, read from span timestamps and attempt
//! numbers: whether a call was given up after exactly the retries the policy allows, whether
//! any call was retried beyond it, whether losers of a claim waited before trying again,
//! and whether a crowd really claimed one item at the same instant.
//!
//! Every check here needs the situation it speaks of to have happened (a give-up, a retry,
//! a lost claim followed by another claim, a crowd): a run where it never arose fails,
//! instead of passing on no evidence.

use std::collections::{BTreeMap, BTreeSet};

use super::Verdict;
use crate::telemetry::{AttrValue, SpanRecord};

/// `work.attempt` of a span (0 for the first try), if it has one.
fn attempt(span: &SpanRecord) -> Option<i64> {
    match span.attr("work.attempt") {
        Some(AttrValue::Int(n)) => Some(*n),
        Some(AttrValue::Str(text)) => text.parse().ok(),
        _ => None,
    }
}

/// The spans of `op` per (agent, item, stage), each list in start order.
pub(super) fn calls_of<'a>(
    spans: &'a [SpanRecord],
    op: &str,
) -> BTreeMap<(String, String, String), Vec<&'a SpanRecord>> {
    let mut calls: BTreeMap<_, Vec<&SpanRecord>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name == op) {
        let key = (
            span.attr_text("agent.id").unwrap_or_default(),
            span.attr_text("work.item_id").unwrap_or_default(),
            span.attr_text("work.stage").unwrap_or_default(),
        );
        calls.entry(key).or_default().push(span);
    }
    for list in calls.values_mut() {
        list.sort_by_key(|s| (s.start_unix_ns, attempt(s)));
    }
    calls
}

/// Some agent made `retries + 1` failed attempts in a row at one call of `op` (attempts 0
/// to `retries`) and then stopped: no attempt `retries + 1` follows.
pub fn gave_up_after(spans: &[SpanRecord], op: &str, retries: u32) -> Verdict {
    let last = i64::from(retries);
    let mut gave_up = Vec::new();
    let mut beyond = Vec::new();
    for ((agent, item, _), calls) in calls_of(spans, op) {
        for (index, span) in calls.iter().enumerate() {
            if attempt(span) != Some(last) || !span.is_error() {
                continue;
            }
            // The run of attempts 0..=last that ends here, all failed.
            let whole_run = index >= retries as usize
                && (0..=retries as usize).all(|back| {
                    let earlier = calls[index - back];
                    earlier.is_error() && attempt(earlier) == Some(last - back as i64)
                });
            if !whole_run {
                continue;
            }
            match calls.get(index + 1) {
                Some(next) if attempt(next) == Some(last + 1) => {
                    beyond.push(format!("{agent} on {item}: attempt {} followed", last + 1));
                }
                _ => gave_up.push(format!("{agent} gave up on {item} after {retries} retries")),
            }
        }
    }
    let observed = format!(
        "{} calls given up after {retries} retries, {} retried further",
        gave_up.len(),
        beyond.len()
    );
    let passed = !gave_up.is_empty() && beyond.is_empty();
    let evidence = if beyond.is_empty() { gave_up } else { beyond };
    Verdict::new(
        format!("an agent gave up on \"{op}\" after {retries} retries"),
        passed,
        format!(
            "at least 1 call of {op} failed {} times in a row and was not tried again",
            retries + 1
        ),
        observed,
        evidence,
    )
}

/// No span of any operation has an attempt number above `retries`, and some call was
/// retried at all.
pub fn retried_at_most(spans: &[SpanRecord], retries: u32) -> Verdict {
    let limit = i64::from(retries);
    let attempts: Vec<(i64, &SpanRecord)> = spans
        .iter()
        .filter_map(|s| Some((attempt(s)?, s)))
        .collect();
    let highest = attempts.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let over: Vec<String> = attempts
        .iter()
        .filter(|(n, _)| *n > limit)
        .map(|(n, s)| {
            format!(
                "{} by {} on {}: attempt {n}",
                s.name,
                s.attr_text("agent.id").unwrap_or_default(),
                s.attr_text("work.item_id").unwrap_or_default()
            )
        })
        .collect();
    Verdict::new(
        format!("no call was retried more than {retries} times"),
        over.is_empty() && highest > 0,
        format!("every work.attempt ≤ {retries}, and at least 1 retry"),
        format!("highest attempt {highest} among {} spans", attempts.len()),
        over,
    )
}

/// After every lost claim (`work.outcome` = conflict), the same agent's next call started
/// at least `wait_ns` after that claim ended; at least one lost claim was followed by a call.
pub fn waited_after_conflicts(spans: &[SpanRecord], wait_ns: u64) -> Verdict {
    let mut by_agent: BTreeMap<String, Vec<&SpanRecord>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name.starts_with("work.")) {
        if let Some(agent) = span.attr_text("agent.id") {
            by_agent.entry(agent).or_default().push(span);
        }
    }
    let mut gaps = 0;
    let mut shortest: Option<u64> = None;
    let mut early = Vec::new();
    for (agent, mut own) in by_agent {
        own.sort_by_key(|s| s.start_unix_ns);
        for pair in own.windows(2) {
            let (lost, next) = (pair[0], pair[1]);
            let is_conflict = lost.name == "work.claim"
                && lost.attr_text("work.outcome").as_deref() == Some("conflict");
            if !is_conflict {
                continue;
            }
            gaps += 1;
            let gap = next.start_unix_ns.saturating_sub(lost.end_unix_ns);
            shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
            if gap < wait_ns {
                early.push(format!(
                    "{agent}: {} {:.3} ms after losing {}",
                    next.name,
                    gap as f64 / 1e6,
                    lost.attr_text("work.item_id").unwrap_or_default()
                ));
            }
        }
    }
    Verdict::new(
        "agents back off after losing a claim",
        early.is_empty() && gaps > 0,
        format!(
            "every call after a lost claim ≥ {:.3} ms later, at least 1 lost claim",
            wait_ns as f64 / 1e6
        ),
        format!(
            "{gaps} lost claims followed by a call, shortest wait {}",
            shortest.map_or("—".into(), |ns| format!("{:.3} ms", ns as f64 / 1e6))
        ),
        early,
    )
}

/// Some work item had claims from at least `agents` distinct agents starting at one
/// instant (the same timestamp to the nanosecond).
pub fn claimed_at_one_instant(spans: &[SpanRecord], agents: usize) -> Verdict {
    let mut crowds: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name == "work.claim") {
        if let (Some(item), Some(agent)) =
            (span.attr_text("work.item_id"), span.attr_text("agent.id"))
        {
            crowds
                .entry((item, span.start_unix_ns))
                .or_default()
                .insert(agent);
        }
    }
    let largest = crowds
        .iter()
        .max_by_key(|(key, who)| (who.len(), std::cmp::Reverse((*key).clone())));
    let (observed, evidence) = match largest {
        Some(((item, _), who)) => (
            format!("at most {} agents claimed {item} at one instant", who.len()),
            who.iter().take(5).cloned().collect(),
        ),
        None => ("no work.claim span".to_owned(), Vec::new()),
    };
    let size = largest.map_or(0, |(_, who)| who.len());
    Verdict::new(
        format!("{agents} agents claimed one work item at the same instant"),
        size >= agents,
        format!("≥ {agents} distinct agents with a work.claim span on one item, same start"),
        observed,
        evidence,
    )
}

#[cfg(test)]
#[path = "retries_tests.rs"]
mod tests;
