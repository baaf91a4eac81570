//! Durability from outside: every completion a system acknowledged is still in the state it
//! ends in. The final state is read by swarmspec itself after the run (one `peek` per
//! submitted item), so a system that acknowledged a write before storing it and then lost it
//! (a crash, a restart from a stale log) is caught by what it shows, not by what it says.

use std::collections::BTreeMap;

use super::Verdict;
use crate::coordination::{ItemStatus, ItemView};
use crate::telemetry::SpanRecord;

/// Losses listed in a verdict; the rest are counted.
const LOSSES_LISTED_MAX: usize = 20;

/// What reading one item back after the run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalState {
    /// The system showed the item.
    Found(ItemView),
    /// The system could not show it (it no longer knows the item, or the read failed).
    Missing(String),
}

/// Whether `state` still holds a completion of `stage`: the item moved past it, or sits at
/// it finished.
fn holds_completion(state: &FinalState, stage: usize) -> bool {
    match state {
        FinalState::Found(view) => {
            view.stage > stage
                || (view.stage == stage
                    && matches!(view.status, ItemStatus::StageDone | ItemStatus::Done))
        }
        FinalState::Missing(_) => false,
    }
}

fn describe(state: &FinalState) -> String {
    match state {
        FinalState::Found(view) => format!("{:?} at stage {}", view.status, view.stage),
        FinalState::Missing(why) => format!("no such item ({why})"),
    }
}

/// The item, agent and stage of a span whose outcome is `outcome`.
fn acknowledged_act(span: &SpanRecord, outcome: &str) -> Option<(String, String, usize)> {
    if span.attr_text("work.outcome").as_deref() != Some(outcome) {
        return None;
    }
    let item = span.attr_text("work.item_id")?;
    let agent = span.attr_text("agent.id")?;
    let stage = span
        .attr_text("work.stage")
        .and_then(|text| text.parse::<usize>().ok())
        .unwrap_or(0);
    Some((item, agent, stage))
}

/// Every acknowledged `work.complete` of an item is reflected in `finals` (keyed by the item's
/// text id); at least one completion must have been acknowledged for the check to mean
/// anything. A loss names the item, the stage, the agent it was acknowledged to, when, and
/// what the final state showed.
pub fn acknowledged_completions_kept(
    spans: &[SpanRecord],
    finals: &BTreeMap<String, FinalState>,
) -> Verdict {
    // The first acknowledged completion per item and stage is the one that must last.
    let mut acknowledged: BTreeMap<(String, usize), (String, u64)> = BTreeMap::new();
    for span in spans.iter().filter(|span| span.name == "work.complete") {
        let Some((item, agent, stage)) = acknowledged_act(span, "completed") else {
            continue;
        };
        let entry = acknowledged
            .entry((item, stage))
            .or_insert((agent.clone(), span.end_unix_ns));
        if span.end_unix_ns < entry.1 {
            *entry = (agent, span.end_unix_ns);
        }
    }
    // A successful claim of the same stage that began after the completion was acknowledged
    // means the system forgot it, even if the work was then done again.
    let mut reclaimed: BTreeMap<(String, usize), String> = BTreeMap::new();
    for span in spans.iter().filter(|span| span.name == "work.claim") {
        let Some((item, agent, stage)) = acknowledged_act(span, "claimed") else {
            continue;
        };
        let key = (item, stage);
        if let Some((_, completed_ns)) = acknowledged.get(&key) {
            if span.start_unix_ns > *completed_ns {
                reclaimed.entry(key).or_insert(agent);
            }
        }
    }
    let mut losses = Vec::new();
    let mut lost = 0usize;
    let run_start_ns = spans.iter().map(|s| s.start_unix_ns).min().unwrap_or(0);
    for ((item, stage), (agent, end_ns)) in &acknowledged {
        let state = finals
            .get(item)
            .cloned()
            .unwrap_or_else(|| FinalState::Missing("not read back".into()));
        let again = reclaimed.get(&(item.clone(), *stage));
        if holds_completion(&state, *stage) && again.is_none() {
            continue;
        }
        lost += 1;
        if losses.len() < LOSSES_LISTED_MAX {
            let found = match again {
                Some(claimer) => format!("{claimer} claimed that stage again afterwards"),
                None => format!("the final state shows {}", describe(&state)),
            };
            losses.push(format!(
                "{item}: completion of stage {stage} acknowledged to {agent} at {:.3} ms; {found}",
                end_ns.saturating_sub(run_start_ns) as f64 / 1e6,
            ));
        }
    }
    if lost > LOSSES_LISTED_MAX {
        losses.push(format!("… and {} more", lost - LOSSES_LISTED_MAX));
    }
    Verdict::new(
        "every completion the system acknowledged is in its final state",
        lost == 0 && !acknowledged.is_empty(),
        "0 acknowledged completions missing from the final state or undone by a later claim \
         (among at least 1)",
        format!(
            "{lost} of {} acknowledged completions missing from the final state of {} items or \
             undone",
            acknowledged.len(),
            finals.len()
        ),
        losses,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordination::{Role, TeamId};
    use crate::telemetry::record::AttrValue;

    fn complete(item: &str, agent: &str, stage: i64) -> SpanRecord {
        let mut span = SpanRecord {
            trace_id: 1,
            span_id: 2,
            parent_span_id: None,
            name: "work.complete".into(),
            start_unix_ns: 0,
            end_unix_ns: 10,
            status: crate::telemetry::record::SpanStatus::Ok,
            attributes: Vec::new(),
        };
        span.attributes = vec![
            ("work.item_id".into(), AttrValue::Str(item.into())),
            ("agent.id".into(), AttrValue::Str(agent.into())),
            ("work.stage".into(), AttrValue::Int(stage)),
            ("work.outcome".into(), AttrValue::Str("completed".into())),
        ];
        span
    }

    fn view(status: ItemStatus, stage: usize) -> FinalState {
        FinalState::Found(ItemView {
            status,
            stage,
            role: Role::Developer,
            team: TeamId(0),
            holder: None,
        })
    }

    // Proves a kept completion passes, and a lost one (reopened, or unknown) fails naming
    // the item, the agent and what the state showed; no completions at all proves nothing.
    #[test]
    fn losses_are_named() {
        let spans = vec![
            complete("work_1", "agent_7", 0),
            complete("work_2", "agent_8", 0),
        ];
        let mut finals = BTreeMap::new();
        finals.insert("work_1".to_owned(), view(ItemStatus::Done, 0));
        finals.insert("work_2".to_owned(), view(ItemStatus::StageDone, 0));
        assert!(acknowledged_completions_kept(&spans, &finals).passed);
        finals.insert("work_2".to_owned(), view(ItemStatus::Open, 0));
        let verdict = acknowledged_completions_kept(&spans, &finals);
        assert!(!verdict.passed);
        assert!(verdict.evidence[0].contains("work_2") && verdict.evidence[0].contains("agent_8"));
        finals.insert(
            "work_2".to_owned(),
            FinalState::Missing("unknown item".into()),
        );
        let verdict = acknowledged_completions_kept(&spans, &finals);
        assert!(verdict.evidence[0].contains("no such item"), "{verdict}");
        assert!(!acknowledged_completions_kept(&[], &finals).passed);
        // Kept in the end, but claimed again after its completion: the system forgot it.
        finals.insert("work_2".to_owned(), view(ItemStatus::Done, 0));
        let mut again = complete("work_2", "agent_9", 0);
        again.name = "work.claim".into();
        again.start_unix_ns = 20;
        again.attributes[3].1 = AttrValue::Str("claimed".into());
        let mut spans = spans;
        spans.push(again);
        let verdict = acknowledged_completions_kept(&spans, &finals);
        assert!(
            !verdict.passed && verdict.evidence[0].contains("agent_9 claimed"),
            "{verdict}"
        );
    }
}
