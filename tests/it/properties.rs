//! Property tests: the history checker catches every planted double claim and never flags a
//! valid history; the parsers never panic on arbitrary input.

use proptest::prelude::*;
use swarmspec::claims::Ledger;
use swarmspec::evidence::history;
use swarmspec::ids::AgentId;
use swarmspec::telemetry::{AttrValue, SpanRecord, SpanStatus};

fn span(name: &str, agent: u64, item: u64, outcome: &str, start: u64, end: u64) -> SpanRecord {
    SpanRecord {
        trace_id: u128::from(agent),
        span_id: start * 31 + item,
        parent_span_id: None,
        name: name.into(),
        start_unix_ns: start,
        end_unix_ns: end,
        status: SpanStatus::Unset,
        attributes: vec![
            (
                "agent.id".into(),
                AttrValue::Str(AgentId(agent).to_string()),
            ),
            (
                "work.item_id".into(),
                AttrValue::Str(format!("work_{item}")),
            ),
            ("work.stage".into(), AttrValue::Int(0)),
            ("work.outcome".into(), AttrValue::Str(outcome.into())),
        ],
    }
}

/// A valid history: each item passes from agent to agent, each hold (claim → complete or
/// release) ending before the next claim of that item begins. Gaps and lengths come from
/// the strategy.
fn valid_history(items: &[Vec<(u64, u64, u64, bool)>]) -> Vec<SpanRecord> {
    let mut spans = Vec::new();
    for (item, holds) in items.iter().enumerate() {
        let mut t = 1_000;
        for &(agent, gap, length, completes) in holds {
            let claim_start = t + gap;
            let claim_end = claim_start + 10;
            let end_start = claim_end + length;
            spans.push(span(
                "work.claim",
                agent,
                item as u64,
                "claimed",
                claim_start,
                claim_end,
            ));
            let (name, outcome) = if completes {
                ("work.complete", "completed")
            } else {
                ("work.release", "ok")
            };
            spans.push(span(
                name,
                agent,
                item as u64,
                outcome,
                end_start,
                end_start + 10,
            ));
            t = end_start + 10;
        }
    }
    spans
}

fn holds_strategy() -> impl Strategy<Value = Vec<Vec<(u64, u64, u64, bool)>>> {
    let hold = (1u64..20, 0u64..50, 1u64..200, any::<bool>());
    prop::collection::vec(prop::collection::vec(hold, 1..6), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    // Proves a valid history is never flagged.
    #[test]
    fn valid_histories_pass(items in holds_strategy()) {
        let verdict = history::no_overlapping_holds(&valid_history(&items));
        prop_assert!(verdict.passed, "{}", verdict);
    }

    // Proves a claim planted inside an existing hold, by another agent, is always caught and
    // the evidence names the item.
    #[test]
    fn planted_double_claim_is_caught(items in holds_strategy(), pick in any::<prop::sample::Index>(), offset in 0u64..5) {
        let mut spans = valid_history(&items);
        let claims: Vec<SpanRecord> = spans.iter().filter(|s| s.name == "work.claim").cloned().collect();
        let victim = pick.get(&claims);
        let item = victim.attr_text("work.item_id").unwrap_or_default();
        let holder = AgentId::parse(&victim.attr_text("agent.id").unwrap_or_default()).map_or(0, |a| a.0);
        // Lands just after the victim's claim, before its complete or release began.
        let start = victim.end_unix_ns - 5 + offset.min(4);
        let intruder = span("work.claim", holder + 1_000, item.trim_start_matches("work_").parse().unwrap_or(0), "claimed", start, start + 1);
        spans.push(intruder);
        let verdict = history::no_overlapping_holds(&spans);
        prop_assert!(!verdict.passed);
        prop_assert!(verdict.evidence.iter().any(|line| line.contains(&item)), "{}", verdict);
    }

    // Proves the ledger parser answers every input with a value or an error, never a panic.
    #[test]
    fn ledger_parser_never_panics(text in ".{0,400}") {
        let _ = Ledger::parse(&text, "fuzz.toml");
    }

    // Proves the prose checker never panics on arbitrary Markdown.
    #[test]
    fn docs_check_never_panics(text in "(.|\n){0,400}") {
        let _ = swarmspec::docs_check::check(&text, &[]);
    }

    // Proves agent ids round-trip through their text form and sort like their numbers.
    #[test]
    fn agent_ids_round_trip(a in any::<u64>(), b in any::<u64>()) {
        let (x, y) = (AgentId(a), AgentId(b));
        prop_assert_eq!(AgentId::parse(&x.to_string()), Some(x));
        prop_assert_eq!(x.to_string().cmp(&y.to_string()), a.cmp(&b));
    }
}
