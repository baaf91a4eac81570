//! Checks of `work_claims.json`: on its own, against the agents and against the log.

use std::collections::{BTreeMap, BTreeSet};

use super::{kind, listed, Files};
use crate::findings::{Finding, Findings};
use crate::ingest::fields::id_from_text;
use crate::store::layout::*;
use crate::telemetry::SpanRecord;

/// Every check of the claims; none runs when the claims could not be read.
pub(super) fn check(files: &Files, found: &mut Findings) {
    if !files.claims.comparable() {
        return;
    }
    repeated_items(files, found);
    holders_registered(files, found);
    completions_logged(files, found);
}

/// An item must appear once: two entries that both hold it are a double hold (two agents
/// working on it at once), any other repeat is a bookkeeping error.
fn repeated_items(files: &Files, found: &mut Findings) {
    let mut by_item: BTreeMap<&str, Vec<(usize, &WorkClaim)>> = BTreeMap::new();
    for (index, claim) in &files.claims.entries {
        by_item
            .entry(&claim.work_item_id)
            .or_default()
            .push((*index, claim));
    }
    for (item, copies) in by_item.iter().filter(|(_, c)| c.len() > 1) {
        let holders: BTreeSet<&str> = copies
            .iter()
            .filter(|(_, c)| matches!(c.status.as_str(), STATUS_ACTIVE | STATUS_IN_PROGRESS))
            .filter_map(|(_, c)| c.agent_id.as_deref())
            .collect();
        let indices = listed(copies.iter().map(|(i, _)| i), usize::MAX);
        let subject = format!("{WORK_CLAIMS_FILE} {item}");
        let finding = if holders.len() > 1 {
            Finding::new(
                kind::HELD_TWICE,
                subject,
                format!(
                    "entries {indices}: held by {} agents at once: {}",
                    holders.len(),
                    listed(holders, usize::MAX)
                ),
            )
        } else {
            Finding::new(
                kind::DUPLICATE_CLAIM,
                subject,
                format!("entries {indices}: the item appears {} times", copies.len()),
            )
        };
        found.push(finding);
    }
}

/// Every holder must be a registered agent. One finding per unknown agent, naming the
/// items it holds: the root cause is the agent missing, not each item. Skipped when
/// `agent_status.json` cannot be read or is absent (an absent one is judged once, as a
/// missing file, in `mod.rs`).
fn holders_registered(files: &Files, found: &mut Findings) {
    if files.agents.presence != super::read::Presence::Read {
        return;
    }
    let mut held: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (index, claim) in &files.claims.entries {
        let Some(agent) = claim.agent_id.as_deref().filter(|a| !a.is_empty()) else {
            continue;
        };
        if !files.agents.names(agent, |a| &a.agent_id) {
            held.entry(agent)
                .or_default()
                .push((*index, &claim.work_item_id));
        }
    }
    for (agent, items) in held {
        found.push(Finding::new(
            kind::UNKNOWN_AGENT,
            format!("agent {agent}"),
            format!(
                "holds {} in {WORK_CLAIMS_FILE} but is not in {AGENT_STATUS_FILE}",
                super::entries_text(&items)
            ),
        ));
    }
}

/// Every completed item must have a log entry. Skipped when the log cannot be read or is
/// absent (an absent log is judged once, as a missing file, in `mod.rs`).
fn completions_logged(files: &Files, found: &mut Findings) {
    if files.log.presence != super::read::Presence::Read {
        return;
    }
    for (index, claim) in &files.claims.entries {
        if claim.status == STATUS_COMPLETED
            && !files.log.names(&claim.work_item_id, |l| &l.work_item_id)
        {
            found.push(Finding::new(
                kind::COMPLETION_MISSING_FROM_LOG,
                format!("{WORK_CLAIMS_FILE} [{index}] {}", claim.work_item_id),
                format!("completed, but {COORDINATION_LOG_FILE} has no entry for it"),
            ));
        }
    }
}

/// Claims whose recorded trace id names no trace in `spans`. Claims with no trace id are
/// not judged (the tool said nothing).
pub(super) fn untraced(files: &Files, spans: &[SpanRecord], found: &mut Findings) {
    let traces: BTreeSet<u128> = spans.iter().map(|span| span.trace_id).collect();
    for (index, claim) in &files.claims.entries {
        let text = claim.telemetry.trace_id.trim();
        if text.is_empty() {
            continue;
        }
        if !id_from_text(text).is_some_and(|id| traces.contains(&id)) {
            found.push(Finding::new(
                kind::UNTRACED_CLAIM,
                format!("{WORK_CLAIMS_FILE} [{index}] {}", claim.work_item_id),
                format!("its trace id {text} has no span in the span log"),
            ));
        }
    }
}
