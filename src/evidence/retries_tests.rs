use super::*;
use crate::telemetry::SpanStatus;

/// A span of `name` by `agent` on `item`, attempt `attempt`, from `start` to `end` ns.
fn span(name: &str, agent: &str, item: &str, attempt: i64, start: u64, end: u64) -> SpanRecord {
    SpanRecord {
        trace_id: 1,
        span_id: start + 1,
        parent_span_id: None,
        name: name.into(),
        start_unix_ns: start,
        end_unix_ns: end,
        status: SpanStatus::Unset,
        attributes: vec![
            ("agent.id".into(), AttrValue::Str(agent.into())),
            ("work.item_id".into(), AttrValue::Str(item.into())),
            ("work.stage".into(), AttrValue::Int(0)),
            ("work.attempt".into(), AttrValue::Int(attempt)),
        ],
    }
}

fn failed(mut span: SpanRecord) -> SpanRecord {
    span.status = SpanStatus::Error("refused".into());
    span
}

fn lost(mut span: SpanRecord) -> SpanRecord {
    span.attributes
        .push(("work.outcome".into(), AttrValue::Str("conflict".into())));
    span
}

// Proves a run of 3 failed attempts with nothing after is a give-up after 2 retries, that
// a fourth attempt makes it "retried further", and that a run with no give-up fails.
#[test]
fn a_give_up_needs_every_attempt_failed_and_none_after() {
    let chain: Vec<SpanRecord> = (0..3)
        .map(|n| {
            failed(span(
                "work.claim",
                "a",
                "i",
                n,
                n as u64 * 10,
                n as u64 * 10 + 1,
            ))
        })
        .collect();
    assert!(gave_up_after(&chain, "work.claim", 2).passed);
    assert!(!gave_up_after(&chain, "work.claim", 3).passed);
    let mut further = chain.clone();
    further.push(failed(span("work.claim", "a", "i", 3, 40, 41)));
    assert!(!gave_up_after(&further, "work.claim", 2).passed);
    let mut recovered = chain[..2].to_vec();
    recovered.push(span("work.claim", "a", "i", 2, 20, 21));
    assert!(!gave_up_after(&recovered, "work.claim", 2).passed);
}

// Proves the retry limit fails on an attempt above it and on a run with no retry at all.
#[test]
fn retry_limit_fails_above_it_and_without_any_retry() {
    let spans = vec![
        span("work.claim", "a", "i", 0, 0, 1),
        span("work.claim", "a", "i", 2, 5, 6),
    ];
    assert!(retried_at_most(&spans, 2).passed);
    assert!(!retried_at_most(&spans, 1).passed);
    assert!(!retried_at_most(&spans[..1], 5).passed);
}

// Proves a call 1 ms after a lost claim fails a 2 ms backoff, passes a 1 ms one, and that a
// run with no lost claim proves nothing.
#[test]
fn waits_after_lost_claims_are_measured_from_the_spans() {
    let spans = vec![
        lost(span("work.claim", "a", "i", 0, 0, 1_000)),
        span("work.claim", "a", "j", 0, 1_001_000, 1_002_000),
    ];
    assert!(!waited_after_conflicts(&spans, 2_000_000).passed);
    assert!(waited_after_conflicts(&spans, 1_000_000).passed);
    assert!(!waited_after_conflicts(&spans[1..], 0).passed);
}

// Proves claims at one nanosecond by three agents make a crowd of three, and that a one-ns
// difference splits it.
#[test]
fn a_crowd_is_distinct_agents_at_one_instant() {
    let mut spans = vec![
        span("work.claim", "a", "i", 0, 5, 6),
        span("work.claim", "b", "i", 0, 5, 6),
        span("work.claim", "c", "i", 0, 5, 6),
    ];
    assert!(claimed_at_one_instant(&spans, 3).passed);
    spans[2].start_unix_ns = 4;
    assert!(!claimed_at_one_instant(&spans, 3).passed);
    assert!(claimed_at_one_instant(&spans, 2).passed);
}
