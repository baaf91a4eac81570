//! One winning claim per tenure: an item is won once at each stage, and won again only after
//! something let go of it (a reap of the lapsed lease, or its holder's release).
//!
//! This is the count beside `history::no_overlapping_holds`: two holds that do not overlap
//! in time still make a double win when nothing ended the first, e.g. an item claimed again
//! after it was completed. A reclaim after a reap is the lease doing its job and is not
//! counted against the item; that is what a plain "exactly 1 claimed claim per item" gets
//! wrong on any run where a worker dies and its items are reaped.

use std::collections::BTreeMap;

use super::Verdict;
use crate::telemetry::SpanRecord;

type Key = (String, String);

fn key(span: &SpanRecord) -> Option<Key> {
    span.attr_text("work.item_id")
        .zip(span.attr_text("work.stage"))
}

/// When something let go of each (item, stage): reaps, and releases that were acknowledged
/// or whose outcome is unknown (an errored release may have applied).
fn let_go(spans: &[SpanRecord]) -> BTreeMap<Key, Vec<u64>> {
    let mut freed: BTreeMap<Key, Vec<u64>> = BTreeMap::new();
    for span in spans {
        let frees = match span.name.as_str() {
            "lease.reap" => true,
            "work.release" => matches!(
                span.attr_text("work.outcome").as_deref(),
                Some("ok" | "error")
            ),
            _ => false,
        };
        if let Some(key) = key(span).filter(|_| frees) {
            freed.entry(key).or_default().push(span.start_unix_ns);
        }
    }
    freed
}

/// Every winning claim of an item at a stage after the first began after a reap or release
/// of it that began after the previous win had landed.
pub fn one_win_per_tenure(spans: &[SpanRecord]) -> Verdict {
    let freed = let_go(spans);
    let mut wins: BTreeMap<Key, Vec<&SpanRecord>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name == "work.claim") {
        if span.attr_text("work.outcome").as_deref() != Some("claimed") {
            continue;
        }
        if let Some(key) = key(span) {
            wins.entry(key).or_default().push(span);
        }
    }
    let (mut won, mut rewon, mut doubles) = (0usize, 0usize, Vec::new());
    for (key, claims) in &mut wins {
        claims.sort_by_key(|span| (span.end_unix_ns, span.start_unix_ns));
        won += claims.len();
        let releases = freed.get(key).map(Vec::as_slice).unwrap_or_default();
        for pair in claims.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            let freed_between = releases
                .iter()
                .any(|&at| at >= before.start_unix_ns && at <= after.end_unix_ns);
            if freed_between {
                rewon += 1;
                continue;
            }
            doubles.push(format!(
                "{} (stage {}) won by {} (claim span {}) and again by {} (claim span {}) with \
                 no reap or release between",
                key.0,
                key.1,
                before.attr_text("agent.id").unwrap_or_default(),
                before.span_id_hex(),
                after.attr_text("agent.id").unwrap_or_default(),
                after.span_id_hex()
            ));
        }
    }
    Verdict::new(
        "one winning claim per item and stage, again only after a reap or release",
        doubles.is_empty() && won > 0,
        "0 wins without a reap or release since the last (among at least 1 win)",
        format!(
            "{} such wins among {won} wins of {} item stages ({rewon} after a reap or release)",
            doubles.len(),
            wins.len()
        ),
        doubles,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::deployment::tests::span;

    fn op(name: &str, outcome: &str, agent: &str, at: (f64, f64)) -> SpanRecord {
        let attributes = [
            ("work.item_id", "work_1"),
            ("work.stage", "0"),
            ("work.outcome", outcome),
            ("agent.id", agent),
            ("work.previous_holder", agent),
        ];
        span(name, at, &attributes)
    }

    // Proves a win after a reap or an acknowledged release passes, a second win with
    // nothing between fails naming both agents (even when the holds do not overlap), and a
    // refused release frees nothing.
    #[test]
    fn second_wins_need_a_reap_or_release_between() {
        let claim = |agent, at| op("work.claim", "claimed", agent, at);
        let reaped = vec![
            claim("a", (1.0, 1.1)),
            op("lease.reap", "reaped", "a", (5.0, 5.0)),
            claim("b", (6.0, 6.1)),
        ];
        assert!(one_win_per_tenure(&reaped).passed);
        let released = vec![
            claim("a", (1.0, 1.1)),
            op("work.release", "ok", "a", (2.0, 2.1)),
            claim("b", (3.0, 3.1)),
        ];
        assert!(one_win_per_tenure(&released).passed);
        let after_completion = vec![
            claim("a", (1.0, 1.1)),
            op("work.complete", "completed", "a", (2.0, 2.1)),
            claim("b", (3.0, 3.1)),
        ];
        let verdict = one_win_per_tenure(&after_completion);
        assert!(!verdict.passed);
        assert!(verdict.evidence[0].contains("won by a"), "{verdict}");
        assert!(verdict.evidence[0].contains("again by b"), "{verdict}");
        let refused = vec![
            claim("a", (1.0, 1.1)),
            op("work.release", "not_holder", "c", (2.0, 2.1)),
            claim("b", (3.0, 3.1)),
        ];
        assert!(!one_win_per_tenure(&refused).passed);
        assert!(!one_win_per_tenure(&[]).passed, "no win is no evidence");
    }
}
