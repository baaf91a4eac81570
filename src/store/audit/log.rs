//! Checks of `coordination_log.json`: on its own, against the claims and against the agents.
//!
//! The log is where repeats show: a tool that lets two agents finish the same item (a lost
//! update on the claim, a lease that expired under a live holder) logs it once per finisher.
//! Findings here are one per item or entry, never one per pair of entries, so an item
//! completed ten times is one finding that says ten.

use std::collections::BTreeMap;

use super::{kind, listed, Files};
use crate::findings::{Finding, Findings};
use crate::store::layout::*;

/// How many agents or entry indices a finding names before saying how many more.
const NAMED_MAX: usize = 12;

/// Every check of the log; none runs when the log could not be read.
pub(super) fn check(files: &Files, found: &mut Findings) {
    if !files.log.comparable() {
        return;
    }
    duplicate_completions(files, found);
    items_claimed(files, found);
    completers_registered(files, found);
}

/// A stage of an item is completed once. The key is (item, stage): swarmspec's own store
/// logs one entry per stage of a pipeline, and a tool without stages logs stage 0 always.
fn duplicate_completions(files: &Files, found: &mut Findings) {
    let mut by_stage: BTreeMap<(&str, usize), Vec<(usize, &LogEntry)>> = BTreeMap::new();
    for (index, entry) in &files.log.entries {
        by_stage
            .entry((&entry.work_item_id, entry.stage))
            .or_default()
            .push((*index, entry));
    }
    for ((item, stage), entries) in by_stage.iter().filter(|(_, e)| e.len() > 1) {
        let mut agents: Vec<&str> = entries
            .iter()
            .map(|(_, e)| match e.agent_id.as_str() {
                "" => "(no agent)",
                agent => agent,
            })
            .collect();
        agents.sort_unstable();
        agents.dedup();
        let subject = if *stage == 0 {
            format!("{COORDINATION_LOG_FILE} {item}")
        } else {
            format!("{COORDINATION_LOG_FILE} {item} stage {stage}")
        };
        found.push(Finding::new(
            kind::DUPLICATE_COMPLETION,
            subject,
            format!(
                "completed {} times, by {} agent{}: {} (entries {})",
                entries.len(),
                agents.len(),
                if agents.len() == 1 { "" } else { "s" },
                listed(&agents, NAMED_MAX),
                listed(entries.iter().map(|(i, _)| i), NAMED_MAX)
            ),
        ));
    }
}

/// Every logged item is in the claims; one finding per item, however often it is logged.
/// Skipped when the claims cannot be read, or are absent (judged once in `mod.rs`).
fn items_claimed(files: &Files, found: &mut Findings) {
    if files.claims.presence != super::read::Presence::Read {
        return;
    }
    let mut unclaimed: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, entry) in &files.log.entries {
        if !files.claims.names(&entry.work_item_id, |c| &c.work_item_id) {
            unclaimed
                .entry(&entry.work_item_id)
                .or_default()
                .push(*index);
        }
    }
    for (item, indices) in unclaimed {
        found.push(Finding::new(
            kind::LOGGED_ITEM_NOT_CLAIMED,
            format!("{COORDINATION_LOG_FILE} {item}"),
            format!(
                "logged in entr{} {}, but {WORK_CLAIMS_FILE} has no entry for it",
                if indices.len() == 1 { "y" } else { "ies" },
                listed(&indices, NAMED_MAX)
            ),
        ));
    }
}

/// Every completion names a registered agent. One finding per unknown agent (and one for
/// entries naming none), listing its entries: the root cause is the agent missing from
/// `agent_status.json`, not each entry. Skipped when `agent_status.json` cannot be read, or
/// is absent (judged once in `mod.rs`).
fn completers_registered(files: &Files, found: &mut Findings) {
    if files.agents.presence != super::read::Presence::Read {
        return;
    }
    let mut by_agent: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (index, entry) in &files.log.entries {
        let agent = entry.agent_id.as_str();
        if agent.is_empty() || !files.agents.names(agent, |a| &a.agent_id) {
            by_agent
                .entry(agent)
                .or_default()
                .push((*index, &entry.work_item_id));
        }
    }
    for (agent, entries) in by_agent {
        let (subject, detail) = if agent.is_empty() {
            (
                format!("{COORDINATION_LOG_FILE} entries with no agent"),
                format!("{} name no agent", super::entries_text(&entries)),
            )
        } else {
            (
                format!("agent {agent}"),
                format!(
                    "completed {} in {COORDINATION_LOG_FILE} but is not in {AGENT_STATUS_FILE}",
                    super::entries_text(&entries)
                ),
            )
        };
        found.push(Finding::new(
            kind::COMPLETION_BY_UNKNOWN_AGENT,
            subject,
            detail,
        ));
    }
}
