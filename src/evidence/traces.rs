//! Whether a work item's story reads as one trace: its claims, progress, completions and
//! handoffs, by the agents of every role it passed, all in one trace id.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Verdict;
use crate::telemetry::SpanRecord;

/// The spans that tell an item's story.
const ITEM_SPANS: &[&str] = &[
    "work.claim",
    "work.progress",
    "work.complete",
    "work.handoff",
    "work.release",
];

/// The role of the agent that wrote `span`: its own `agent.role`, else its session's.
fn role_of(span: &SpanRecord, sessions: &HashMap<String, String>) -> Option<String> {
    span.attr_text("agent.role").or_else(|| {
        let agent = span.attr_text("agent.id")?;
        sessions.get(&agent).cloned()
    })
}

/// For every work item, the item spans of agents in `roles` share one trace, and every
/// listed role wrote at least one of them (at least one item).
pub fn one_trace_across_roles(spans: &[SpanRecord], roles: &[&str]) -> Verdict {
    let sessions: HashMap<String, String> = spans
        .iter()
        .filter(|s| s.name == "agent.session")
        .filter_map(|s| Some((s.attr_text("agent.id")?, s.attr_text("agent.role")?)))
        .collect();
    let mut items: BTreeMap<String, (BTreeSet<u128>, BTreeSet<String>)> = BTreeMap::new();
    for span in spans
        .iter()
        .filter(|s| ITEM_SPANS.contains(&s.name.as_str()))
    {
        let (Some(item), Some(role)) = (span.attr_text("work.item_id"), role_of(span, &sessions))
        else {
            continue;
        };
        if !roles.contains(&role.as_str()) {
            continue;
        }
        let entry = items.entry(item).or_default();
        entry.0.insert(span.trace_id);
        entry.1.insert(role);
    }
    let broken: Vec<String> = items
        .iter()
        .filter_map(|(item, (traces, seen))| {
            let absent: Vec<&str> = roles
                .iter()
                .copied()
                .filter(|role| !seen.contains(*role))
                .collect();
            match (traces.len(), absent.is_empty()) {
                (1, true) => None,
                (1, false) => Some(format!("{item}: no span by {}", absent.join(", "))),
                (n, _) => Some(format!("{item}: {n} traces")),
            }
        })
        .collect();
    Verdict::new(
        format!(
            "each work item forms one trace across {}",
            roles.join(" → ")
        ),
        !items.is_empty() && broken.is_empty(),
        "1 trace per item, with spans by every listed role".to_owned(),
        format!("{} of {} items broken", broken.len(), items.len()),
        broken,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{AttrValue, SpanStatus};

    fn span(name: &str, trace_id: u128, item: &str, role: &str) -> SpanRecord {
        let text = |v: &str| AttrValue::Str(v.into());
        SpanRecord {
            trace_id,
            span_id: 1,
            parent_span_id: None,
            name: name.into(),
            start_unix_ns: 0,
            end_unix_ns: 1,
            status: SpanStatus::Unset,
            attributes: vec![
                ("work.item_id".into(), text(item)),
                ("agent.role".into(), text(role)),
            ],
        }
    }

    // Proves an item whose pm and developer spans share a trace passes, while one split at
    // the handoff into two traces fails naming the item, as does one no developer touched.
    #[test]
    fn an_item_split_at_a_handoff_is_named() {
        let one = vec![
            span("work.claim", 7, "a", "pm"),
            span("work.handoff", 7, "a", "pm"),
            span("work.complete", 7, "a", "developer"),
        ];
        assert!(one_trace_across_roles(&one, &["pm", "developer"]).passed);
        let mut split = one.clone();
        split.push(span("work.claim", 8, "a", "developer"));
        let verdict = one_trace_across_roles(&split, &["pm", "developer"]);
        assert!(
            !verdict.passed && verdict.evidence == ["a: 2 traces"],
            "{verdict:?}"
        );
        let verdict = one_trace_across_roles(&one[..2], &["pm", "developer"]);
        assert!(!verdict.passed && verdict.evidence == ["a: no span by developer"]);
    }
}
