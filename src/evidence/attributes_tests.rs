use super::*;
use crate::telemetry::SpanStatus;

/// A span named `name` by `agent` at time `at_ns`, with `attributes` and an error when `failed`.
fn span(
    name: &str,
    agent: &str,
    at_ns: u64,
    failed: bool,
    attributes: &[(&str, AttrValue)],
) -> SpanRecord {
    let mut all = vec![("agent.id".into(), AttrValue::Str(agent.into()))];
    all.extend(attributes.iter().map(|(k, v)| ((*k).into(), v.clone())));
    SpanRecord {
        trace_id: 1,
        span_id: at_ns,
        parent_span_id: None,
        name: name.into(),
        start_unix_ns: at_ns,
        end_unix_ns: at_ns + 1,
        status: if failed {
            SpanStatus::Error("refused".into())
        } else {
            SpanStatus::Unset
        },
        attributes: all,
    }
}

fn claim(agent: &str, at_ns: u64, outcome: &str) -> SpanRecord {
    span(
        "work.claim",
        agent,
        at_ns,
        outcome == "error",
        &[
            ("work.item_id", AttrValue::Str(format!("item{at_ns}"))),
            ("work.outcome", AttrValue::Str(outcome.into())),
        ],
    )
}

// Proves presence fails on the one span lacking a key, passes when all carry it, and fails
// when the selection (an outcome no span has) is empty.
#[test]
fn presence_names_the_span_lacking_a_key() {
    let mut spans = vec![claim("a", 1, "claimed"), claim("b", 2, "conflict")];
    let claimed = SpanFilter::named("work.claim").with_outcome("claimed");
    assert!(every_has_attributes(&spans, &claimed, &["agent.id", "work.item_id"]).passed);
    spans.push(span(
        "work.claim",
        "c",
        3,
        false,
        &[("work.outcome", AttrValue::Str("claimed".into()))],
    ));
    let verdict = every_has_attributes(&spans, &claimed, &["work.item_id"]);
    assert!(
        !verdict.passed && verdict.evidence[0].contains("lacks work.item_id"),
        "{verdict:?}"
    );
    let none = SpanFilter::named("work.claim").with_outcome("handed_off");
    assert!(!every_has_attributes(&spans, &none, &["agent.id"]).passed);
}

// Proves a numeric bound holds on every value, and a value past it or a missing key fails.
#[test]
fn numeric_bounds_on_an_attribute() {
    let progress = |at, value| {
        span(
            "work.progress",
            "a",
            at,
            false,
            &[("work.progress", AttrValue::Int(value))],
        )
    };
    let spans = vec![progress(1, 30), progress(2, 100)];
    let filter = SpanFilter::named("work.progress");
    assert!(every_attribute_within(&spans, &filter, "work.progress", Bound::AtMost(100.0)).passed);
    assert!(!every_attribute_within(&spans, &filter, "work.progress", Bound::Below(100.0)).passed);
    assert!(!every_attribute_within(&spans, &filter, "work.attempt", Bound::AtLeast(0.0)).passed);
}

// Proves the conflict rate is conflicts over all claims, judged against the bound, and
// that no claim at all is no evidence.
#[test]
fn rates_count_the_share_with_an_outcome() {
    let spans: Vec<SpanRecord> = (0..20)
        .map(|i| claim("a", i, if i == 0 { "conflict" } else { "claimed" }))
        .collect();
    let claims = SpanFilter::named("work.claim");
    let below = |p| outcome_rate(&spans, &claims, "conflict", Bound::Below(p));
    assert!(below(0.06).passed, "1 of 20 is 5 %");
    let verdict = below(0.05);
    assert!(
        !verdict.passed && verdict.observed.starts_with("1 of 20"),
        "{verdict:?}"
    );
    assert!(!outcome_rate(&[], &claims, "conflict", Bound::Below(1.0)).passed);
    let errors = outcome_rate(&spans, &claims, "error", Bound::AtMost(0.0));
    assert!(errors.passed, "no error span");
}

// Proves a per-group rate finds the group through the agent's session (roles live there)
// and names the group outside the bound.
#[test]
fn per_group_rates_use_the_session_role() {
    let session = |agent: &str, role: &str| {
        span(
            "agent.session",
            agent,
            0,
            false,
            &[("agent.role", AttrValue::Str(role.into()))],
        )
    };
    let spans = vec![
        session("a", "pm"),
        session("b", "developer"),
        claim("a", 1, "claimed"),
        claim("b", 2, "claimed"),
        claim("b", 3, "conflict"),
    ];
    let claims = SpanFilter::named("work.claim");
    let verdict = outcome_rate_per_group(
        &spans,
        &claims,
        "claimed",
        Bound::AtLeast(0.9),
        "agent.role",
    );
    assert!(!verdict.passed, "{verdict:?}");
    assert!(verdict
        .evidence
        .iter()
        .any(|l| l.starts_with("agent.role=developer") && l.ends_with("(outside)")));
    assert!(
        outcome_rate_per_group(
            &spans,
            &claims,
            "claimed",
            Bound::AtLeast(0.5),
            "agent.role"
        )
        .passed
    );
}

// Proves the breaker check counts the failures right before each opening, with a success
// resetting the count.
#[test]
fn breaker_openings_count_consecutive_failures() {
    let open = |at| {
        span(
            "circuit.transition",
            "a",
            at,
            false,
            &[
                ("circuit.from", AttrValue::Str("closed".into())),
                ("circuit.to", AttrValue::Str("open".into())),
            ],
        )
    };
    let spans = vec![
        claim("a", 1, "error"),
        claim("a", 2, "claimed"),
        claim("a", 3, "error"),
        claim("a", 4, "error"),
        claim("a", 5, "error"),
        open(10),
    ];
    assert!(breaker_opened_after(&spans, 3).passed);
    assert!(!breaker_opened_after(&spans, 4).passed);
    assert!(
        !breaker_opened_after(&spans[..5], 3).passed,
        "no opening is no evidence"
    );
}
