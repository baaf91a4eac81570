//! When the state broke, and what work never got done.
//!
//! The samples read during the run (`[state] sample_ms`) are held only to facts that no
//! later operation could have changed: an item acknowledged as submitted stays in the state,
//! an item acknowledged as completed stays completed, and an item acknowledged as claimed
//! stays with its claimant until that claimant's next call on it begins. A sample read after
//! such an acknowledgement that shows otherwise (or that cannot be read at all) is where the
//! state broke.
//!
//! Abandoned work is read from the history alone: an item (or, when claims create items, a
//! piece of work) with no acknowledged completion, with the refusals that led there.

use std::collections::BTreeMap;

use super::call::Outcome;
use super::sampler::StateSample;
use super::{AdapterRun, Operation};
use crate::evidence::Verdict;
use crate::findings::Finding;
use crate::store::layout::{STATUS_COMPLETED, STATUS_STAGE_DONE};
use crate::telemetry::OpKind;

fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

/// What `sample` shows that contradicts acknowledged `op`, if anything it may be held to.
pub(super) fn contradiction(
    op: &Operation,
    operations: &[Operation],
    sample: &StateSample,
) -> Option<String> {
    let item = op.item.as_deref()?;
    if !op.acknowledged() || op.complete_ns >= sample.start_ns || sample.state.entries.is_err() {
        return None;
    }
    let entry = sample.state.item(item);
    let finished =
        entry.is_some_and(|e| matches!(e.status.as_str(), STATUS_COMPLETED | STATUS_STAGE_DONE));
    let contradicted = match op.kind {
        OpKind::Submit => entry.is_none(),
        OpKind::Complete => !finished,
        OpKind::Claim => {
            // Still the claimant's unless it has since started another call on the item.
            let moved_on = operations.iter().any(|later| {
                later.invoke_ns > op.complete_ns
                    && later.invoke_ns < sample.end_ns
                    && later.agent == op.agent
                    && later.item == op.item
            });
            !moved_on
                && !finished
                && entry.and_then(|e| e.agent_id.as_deref()) != op.agent.as_deref()
        }
        _ => false,
    };
    contradicted.then(|| {
        format!(
            "the sample read at {} shows {}",
            ms(sample.start_ns),
            sample
                .state
                .describe(item)
                .trim_start_matches("final state: ")
        )
    })
}

/// Where the samples say the state broke, in words; `None` without samples.
pub fn when_it_broke(run: &AdapterRun) -> Option<String> {
    let last = run.samples.last()?;
    let total = run.samples.len();
    for (index, sample) in run.samples.iter().enumerate() {
        let what = match &sample.state.entries {
            Err(problem) => Some(format!("was unreadable ({problem})")),
            Ok(_) => run.operations.iter().find_map(|op| {
                contradiction(op, &run.operations, sample)
                    .map(|seen| format!("contradicted {op}: {seen}"))
            }),
        };
        if let Some(what) = what {
            let before = match index.checked_sub(1).and_then(|i| run.samples.get(i)) {
                Some(previous) => format!(
                    "; sample {index} (read at {}) agreed with everything acknowledged before it",
                    ms(previous.start_ns)
                ),
                None => String::from("; it was the first sample"),
            };
            return Some(format!(
                "the state broke by {}: sample {} of {total} {what}{before}",
                ms(sample.start_ns),
                index + 1
            ));
        }
    }
    Some(format!(
        "all {total} samples of the state, the last read at {}, agreed with what had been acknowledged before each",
        ms(last.start_ns)
    ))
}

/// `outcome` counts of `ops`, as `3 busy (op #4, #9, #12), 1 conflict (op #20)`.
fn refusals(ops: &[&Operation]) -> String {
    let mut by_outcome: BTreeMap<Outcome, Vec<usize>> = BTreeMap::new();
    for op in ops.iter().filter(|op| !op.acknowledged()) {
        by_outcome.entry(op.outcome).or_default().push(op.index);
    }
    if by_outcome.is_empty() {
        return "no call refused".into();
    }
    by_outcome
        .iter()
        .map(|(outcome, indices)| {
            let shown: Vec<String> = indices.iter().take(5).map(|i| format!("#{i}")).collect();
            let more = if indices.len() > 5 { ", …" } else { "" };
            format!(
                "{} {} (op {}{more})",
                indices.len(),
                outcome.as_str(),
                shown.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A claim whose refusal was its agent's last word on that piece of work: the agent did not
/// try again right after it.
fn final_refusal(op: &Operation, operations: &[Operation]) -> bool {
    op.kind == OpKind::Claim
        && !op.acknowledged()
        && !operations.iter().any(|next| {
            next.kind == OpKind::Claim
                && next.agent == op.agent
                && next.attempt == op.attempt + 1
                && next.invoke_ns >= op.complete_ns
        })
}

/// Every item or piece of work with no acknowledged completion, with what led there.
pub fn abandoned(run: &AdapterRun) -> Vec<Finding> {
    let ops = &run.operations;
    let on = |item: &str| -> Vec<&Operation> {
        ops.iter()
            .filter(|op| op.item.as_deref() == Some(item))
            .collect()
    };
    let completed = |item: &str| {
        ops.iter().any(|op| {
            op.kind == OpKind::Complete && op.acknowledged() && op.item.as_deref() == Some(item)
        })
    };
    let mut found = Vec::new();
    if run.claims_create_items {
        for op in ops.iter().filter(|op| final_refusal(op, ops)) {
            found.push(Finding::new(
                "never_claimed",
                format!("a piece of work {op}"),
                "its claim was refused, so no item was made for it and no agent took it up again",
            ));
        }
    }
    for item in &run.items {
        if completed(item) {
            continue;
        }
        let history = on(item);
        let claimed = history
            .iter()
            .any(|op| op.kind == OpKind::Claim && op.acknowledged());
        let (kind, what) = if claimed {
            (
                "never_finished",
                "claimed, but no completion was acknowledged",
            )
        } else {
            ("never_claimed", "no claim was acknowledged")
        };
        found.push(Finding::new(
            kind,
            item.clone(),
            format!("{what}; {}", refusals(&history)),
        ));
    }
    found
}

/// Passes when every piece of work the run set out to do got an acknowledged completion.
pub fn every_item_finished(run: &AdapterRun) -> Verdict {
    let abandoned = abandoned(run);
    let finished = run
        .items
        .iter()
        .filter(|item| {
            run.operations.iter().any(|op| {
                op.kind == OpKind::Complete
                    && op.acknowledged()
                    && op.item.as_deref() == Some(item.as_str())
            })
        })
        .count();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &abandoned {
        *counts.entry(finding.kind.as_str()).or_default() += 1;
    }
    let breakdown: Vec<String> = counts
        .iter()
        .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
        .collect();
    Verdict::new(
        "every item was finished",
        abandoned.is_empty() && run.pieces > 0,
        format!(
            "an acknowledged completion for each of the {} pieces of work",
            run.pieces
        ),
        if abandoned.is_empty() {
            format!("{finished} of {} finished", run.pieces)
        } else {
            format!(
                "{finished} of {} finished; abandoned: {}",
                run.pieces,
                breakdown.join(", ")
            )
        },
        abandoned.iter().map(ToString::to_string).collect(),
    )
}
