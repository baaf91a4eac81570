//! Holds reconstructed from spans, and the checks that need them.
//!
//! A hold of an item (at a stage) by an agent begins when its successful `work.claim` span
//! ends (the claim landed by then) and ends when that agent's next `work.complete` or
//! `work.release` of the item begins, or when a `lease.reap` takes it from that agent
//! (whichever comes first); a hold nobody ended lasts to the end of the capture. Because a
//! hold's start is taken late and its end early, a correct engine can never look like it
//! double-held an item, while a double claim shows as overlapping holds.

use std::collections::BTreeMap;

use super::Verdict;
use crate::telemetry::SpanRecord;

/// One agent's tenure of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The item.
    pub item: String,
    /// The holder.
    pub agent: String,
    /// When the claim had landed (ns since the Unix epoch).
    pub start_ns: u64,
    /// When the holder let go or lost it; `u64::MAX` if never.
    pub end_ns: u64,
    /// The claim span that began it.
    pub claim_span: String,
}

fn text(span: &SpanRecord, key: &str) -> Option<String> {
    span.attr_text(key)
}

/// Every hold in the spans, grouped by item and ordered by start.
pub fn holds(spans: &[SpanRecord]) -> BTreeMap<String, Vec<Hold>> {
    // Ends are looked up per (item, agent), in time order.
    let mut endings: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for span in spans {
        let ending = match span.name.as_str() {
            "work.complete" | "work.release" => text(span, "work.item_id")
                .zip(text(span, "agent.id"))
                .map(|key| (key, span.start_unix_ns)),
            "lease.reap" => text(span, "work.item_id")
                .zip(text(span, "work.previous_holder"))
                .map(|key| (key, span.start_unix_ns)),
            _ => None,
        };
        if let Some((key, at)) = ending {
            endings.entry(key).or_default().push(at);
        }
    }
    for ends in endings.values_mut() {
        ends.sort_unstable();
    }
    let mut by_item: BTreeMap<String, Vec<Hold>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name == "work.claim") {
        if span.attr_text("work.outcome").as_deref() != Some("claimed") {
            continue;
        }
        let (Some(item), Some(agent)) = (text(span, "work.item_id"), text(span, "agent.id")) else {
            continue;
        };
        let start_ns = span.end_unix_ns;
        let end_ns = endings
            .get(&(item.clone(), agent.clone()))
            .and_then(|ends| ends.iter().copied().find(|&end| end >= span.start_unix_ns))
            .unwrap_or(u64::MAX);
        by_item.entry(item.clone()).or_default().push(Hold {
            item,
            agent,
            start_ns,
            end_ns,
            claim_span: span.span_id_hex(),
        });
    }
    for item_holds in by_item.values_mut() {
        item_holds.sort_by_key(|hold| (hold.start_ns, hold.end_ns));
    }
    by_item
}

fn fmt_end(end_ns: u64) -> String {
    if end_ns == u64::MAX {
        "end of run".into()
    } else {
        end_ns.to_string()
    }
}

/// Every pair of holds of one item that overlap in time, described with both agents.
pub fn overlapping_holds(by_item: &BTreeMap<String, Vec<Hold>>) -> Vec<String> {
    let mut conflicts = Vec::new();
    for item_holds in by_item.values() {
        for (i, first) in item_holds.iter().enumerate() {
            for second in item_holds[i + 1..]
                .iter()
                .filter(|s| s.start_ns < first.end_ns)
            {
                conflicts.push(format!(
                    "{} held by {} [{}..{}] (claim span {}) and by {} [{}..{}] (claim span {})",
                    first.item,
                    first.agent,
                    first.start_ns,
                    fmt_end(first.end_ns),
                    first.claim_span,
                    second.agent,
                    second.start_ns,
                    fmt_end(second.end_ns),
                    second.claim_span,
                ));
            }
        }
    }
    conflicts
}

/// No work item was held by two agents at overlapping times.
pub fn no_overlapping_holds(spans: &[SpanRecord]) -> Verdict {
    let by_item = holds(spans);
    let conflicts = overlapping_holds(&by_item);
    let hold_count: usize = by_item.values().map(Vec::len).sum();
    Verdict::new(
        "no work item held by two agents at the same time",
        conflicts.is_empty() && hold_count > 0,
        "0 overlapping holds (among at least 1 hold)",
        format!(
            "{} overlapping holds among {hold_count} holds of {} items",
            conflicts.len(),
            by_item.len()
        ),
        conflicts,
    )
}

/// Every item a `lease.reap` took from an agent was later claimed at that stage by a
/// different agent; and at least one reap happened.
pub fn reaped_items_reclaimed(spans: &[SpanRecord]) -> Verdict {
    let reaps: Vec<&SpanRecord> = spans.iter().filter(|s| s.name == "lease.reap").collect();
    let mut missing = Vec::new();
    for reap in &reaps {
        let (item, stage, previous) = (
            reap.attr_text("work.item_id"),
            reap.attr_text("work.stage"),
            reap.attr_text("work.previous_holder"),
        );
        let reclaimed = spans.iter().any(|s| {
            s.name == "work.claim"
                && s.start_unix_ns >= reap.end_unix_ns
                && s.attr_text("work.outcome").as_deref() == Some("claimed")
                && s.attr_text("work.item_id") == item
                && s.attr_text("work.stage") == stage
                && s.attr_text("agent.id") != previous
        });
        if !reclaimed {
            missing.push(format!(
                "{} (stage {}) reaped from {} was never claimed by another agent",
                item.unwrap_or_default(),
                stage.unwrap_or_default(),
                previous.unwrap_or_default()
            ));
        }
    }
    Verdict::new(
        "every reaped item is re-claimed by another agent",
        missing.is_empty() && !reaps.is_empty(),
        "at least 1 reap, each followed by another agent's claim",
        format!("{} reaps, {} never re-claimed", reaps.len(), missing.len()),
        missing,
    )
}

/// Submitted items, and those among them without a completed `work.complete` at
/// `last_stage`.
pub fn unfinished_items(spans: &[SpanRecord], last_stage: usize) -> (Vec<String>, Vec<String>) {
    let submitted: Vec<String> = spans
        .iter()
        .filter(|s| s.name == "work.submit")
        .filter_map(|s| s.attr_text("work.item_id"))
        .collect();
    let finished: std::collections::HashSet<String> = spans
        .iter()
        .filter(|s| {
            s.name == "work.complete"
                && s.attr_text("work.outcome").as_deref() == Some("completed")
                && s.attr_text("work.stage") == Some(last_stage.to_string())
        })
        .filter_map(|s| s.attr_text("work.item_id"))
        .collect();
    let unfinished = submitted
        .iter()
        .filter(|item| !finished.contains(*item))
        .cloned()
        .collect();
    (submitted, unfinished)
}

/// The latest span about `item`, in words, so an unfinished item's evidence says where it
/// stopped.
fn last_seen(spans: &[SpanRecord], item: &str) -> String {
    let last = spans
        .iter()
        .filter(|s| s.name != "work.fail" && s.attr_text("work.item_id").as_deref() == Some(item))
        .max_by_key(|s| (s.end_unix_ns, s.name != "work.submit"));
    match last {
        Some(span) => format!(
            "last seen in {} ({}) by {} at {}",
            span.name,
            span.attr_text("work.outcome").unwrap_or_default(),
            span.attr_text("agent.id").unwrap_or_else(|| "-".into()),
            span.end_unix_ns
        ),
        None => "never seen after submission".into(),
    }
}

/// Every submitted item has a completed `work.complete` at stage `last_stage`.
pub fn every_item_finished(spans: &[SpanRecord], last_stage: usize) -> Verdict {
    let (submitted, unfinished) = unfinished_items(spans, last_stage);
    Verdict::new(
        "every submitted work item is completed",
        unfinished.is_empty() && !submitted.is_empty(),
        format!("all submitted items completed at stage {last_stage}"),
        format!(
            "{} of {} submitted items unfinished",
            unfinished.len(),
            submitted.len()
        ),
        unfinished
            .iter()
            .map(|item| {
                format!(
                    "{item} never completed stage {last_stage}; {}",
                    last_seen(spans, item)
                )
            })
            .collect(),
    )
}

/// Each item's stages were claimed by `roles` in order, each stage only after the previous
/// one completed.
pub fn stages_in_role_order(spans: &[SpanRecord], roles: &[&str]) -> Verdict {
    let mut claims: BTreeMap<String, Vec<(usize, String, u64)>> = BTreeMap::new();
    let mut completions: BTreeMap<(String, usize), u64> = BTreeMap::new();
    for span in spans {
        let item = span.attr_text("work.item_id");
        let stage = span
            .attr_text("work.stage")
            .and_then(|s| s.parse::<usize>().ok());
        let (Some(item), Some(stage)) = (item, stage) else {
            continue;
        };
        match (
            span.name.as_str(),
            span.attr_text("work.outcome").as_deref(),
        ) {
            ("work.claim", Some("claimed")) => claims.entry(item).or_default().push((
                stage,
                span.attr_text("agent.role").unwrap_or_default(),
                span.end_unix_ns,
            )),
            ("work.complete", Some("completed")) => {
                completions.insert((item, stage), span.end_unix_ns);
            }
            _ => {}
        }
    }
    let mut wrong = Vec::new();
    for (item, item_claims) in &mut claims {
        item_claims.sort();
        let stages: Vec<usize> = item_claims.iter().map(|c| c.0).collect();
        if stages != (0..roles.len()).collect::<Vec<_>>() {
            wrong.push(format!("{item}: claimed stages {stages:?}"));
            continue;
        }
        for (stage, role, claimed_at) in item_claims.iter() {
            if role != roles[*stage] {
                wrong.push(format!(
                    "{item}: stage {stage} claimed by a {role}, expected {}",
                    roles[*stage]
                ));
            }
            let previous_done = stage
                .checked_sub(1)
                .map(|prev| completions.get(&(item.clone(), prev)));
            if let Some(done) = previous_done {
                if done.is_none_or(|&done| done > *claimed_at) {
                    wrong.push(format!(
                        "{item}: stage {stage} claimed before stage {} completed",
                        stage - 1
                    ));
                }
            }
        }
    }
    Verdict::new(
        format!("every item passes {} in order", roles.join(" → ")),
        wrong.is_empty() && !claims.is_empty(),
        format!("each item claimed once per stage by {}", roles.join(", ")),
        format!("{} of {} items out of order", wrong.len(), claims.len()),
        wrong,
    )
}
