//! Unit tests of the ownership check, on hand-written spans.
use super::*;
use crate::evidence::deployment::tests::span;

/// A `name` span about `item` at stage `stage` by `agent`, from `start_s` to `end_s`.
fn op(name: &str, outcome: &str, agent: &str, stage: &str, at: (f64, f64)) -> SpanRecord {
    span(
        name,
        at,
        &[
            ("work.item_id", "work_1"),
            ("work.stage", stage),
            ("work.outcome", outcome),
            ("agent.id", agent),
        ],
    )
}

fn reap(from: &str, at_s: f64) -> SpanRecord {
    span(
        "lease.reap",
        (at_s, at_s),
        &[
            ("work.item_id", "work_1"),
            ("work.stage", "0"),
            ("work.outcome", "reaped"),
            ("work.previous_holder", from),
        ],
    )
}

fn check(spans: &[SpanRecord]) -> Verdict {
    writes_from_holder(spans)
}

// Proves a holder's own claim, progress, complete and handoff, then the next role's claim
// and completion, pass.
#[test]
fn holders_own_writes_pass() {
    let verdict = check(&[
        op("work.claim", "claimed", "a", "0", (1.0, 1.1)),
        op("work.progress", "ok", "a", "0", (1.2, 1.3)),
        op("work.complete", "completed", "a", "0", (1.4, 1.5)),
        op("work.handoff", "handed_off", "a", "0", (1.6, 1.7)),
        op("work.claim", "claimed", "b", "1", (1.8, 1.9)),
        op("work.complete", "completed", "b", "1", (2.0, 2.1)),
    ]);
    assert!(verdict.passed, "{verdict}");
    assert!(verdict.observed.starts_with("0 of 4"), "{verdict}");
}

// Proves a write acknowledged after the writer's lease was reaped is named with the reap.
#[test]
fn write_after_reap_is_named() {
    let verdict = check(&[
        op("work.claim", "claimed", "a", "0", (1.0, 1.1)),
        reap("a", 2.0),
        op("work.complete", "completed", "a", "0", (2.5, 2.6)),
    ]);
    assert!(!verdict.passed);
    let line = &verdict.evidence[0];
    assert!(line.starts_with("a complete of work_1 (stage 0)"), "{line}");
    assert!(line.contains("reaped at 2000000000"), "{line}");
}

// Proves a write after another agent claimed the item names that agent as the holder.
#[test]
fn write_after_anothers_claim_names_the_holder() {
    let verdict = check(&[
        op("work.claim", "claimed", "a", "0", (1.0, 1.1)),
        reap("a", 1.5),
        op("work.claim", "claimed", "b", "0", (2.0, 2.1)),
        op("work.progress", "ok", "a", "0", (3.0, 3.1)),
        op("work.release", "ok", "b", "0", (3.2, 3.3)),
    ]);
    assert!(!verdict.passed);
    assert_eq!(verdict.evidence.len(), 1, "{verdict}");
    assert!(verdict.evidence[0].contains("reaped"), "{verdict}");
    // Without the reap span, the other agent's claim alone ends the window.
    let verdict = check(&[
        op("work.claim", "claimed", "a", "0", (1.0, 1.1)),
        op("work.claim", "claimed", "b", "0", (2.0, 2.1)),
        op("work.progress", "ok", "a", "0", (3.0, 3.1)),
    ]);
    assert!(
        verdict.evidence[0].contains("holder then was b"),
        "{verdict}"
    );
}

// Proves writes by an agent that never claimed, and a second completion, are offences.
#[test]
fn unclaimed_and_repeated_writes_are_offences() {
    let verdict = check(&[
        op("work.progress", "ok", "a", "0", (1.0, 1.1)),
        op("work.claim", "claimed", "b", "0", (2.0, 2.1)),
        op("work.complete", "completed", "b", "0", (2.2, 2.3)),
        op("work.complete", "completed", "b", "0", (2.4, 2.5)),
        op("work.handoff", "handed_off", "c", "0", (2.6, 2.7)),
    ]);
    assert_eq!(verdict.evidence.len(), 3, "{verdict}");
    assert!(verdict.evidence[0].contains("a never claimed"), "{verdict}");
    assert!(
        verdict.evidence[1].contains("already let it go"),
        "{verdict}"
    );
    assert!(
        verdict.evidence[2].contains("c never completed"),
        "{verdict}"
    );
}

// Proves events that overlap the write in time are given the benefit of the doubt, and
// refused calls are not counted as writes.
#[test]
fn overlapping_times_and_refusals_are_not_offences() {
    let verdict = check(&[
        op("work.claim", "claimed", "a", "0", (1.0, 1.1)),
        reap("a", 2.0),
        // The write began before the reap: it may have landed first.
        op("work.progress", "ok", "a", "0", (1.9, 2.2)),
        op("work.complete", "lease_lost", "a", "0", (2.3, 2.4)),
    ]);
    assert!(verdict.passed, "{verdict}");
}

// Proves a run with no acknowledged write proves nothing and fails.
#[test]
fn no_writes_is_not_a_pass() {
    let verdict = check(&[op("work.claim", "claimed", "a", "0", (1.0, 1.1))]);
    assert!(!verdict.passed);
    assert!(verdict.observed.starts_with("0 of 0"), "{verdict}");
}
