//! Checks that need the whole file: times far from the file's other spans, span ids used
//! twice, and parent links that loop.
//!
//! Each span parsed on its own may still be absurd next to the others: a start in 2508 in a
//! file of 2024 spans would sit outside every overlap and let a real double hold pass. So
//! spans are refused here too, with the reason, and the verdicts built on the rest say that
//! spans were refused (`evidence::ingestion::qualified`).

use std::collections::HashMap;

use super::fields::describe_ns;
use crate::telemetry::SpanRecord;

/// How far a span may start from the file's other spans, or end after the last of them
/// starts: no run swarmspec judges spans a day without a span.
pub const WINDOW_NS: u64 = 86_400 * 1_000_000_000;

/// What became of a span the file-level checks did not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Refused: its time, id or parent link cannot be trusted. The reason says why.
    Refused(String),
    /// The same span again (same ids, same content): kept once, so nothing is lost.
    Copy(String),
}

/// For each span (by index), `None` if it is kept, else why not.
pub fn check(spans: &[SpanRecord], lines: &[usize]) -> Vec<Option<Dropped>> {
    let mut verdicts: Vec<Option<Dropped>> = vec![None; spans.len()];
    duplicates(spans, lines, &mut verdicts);
    window(spans, &mut verdicts);
    cycles(spans, &mut verdicts);
    verdicts
}

fn duplicates(spans: &[SpanRecord], lines: &[usize], verdicts: &mut [Option<Dropped>]) {
    let mut first_of: HashMap<(u128, u64), usize> = HashMap::with_capacity(spans.len());
    for (index, span) in spans.iter().enumerate() {
        let Some(&first) = first_of.get(&(span.trace_id, span.span_id)) else {
            first_of.insert((span.trace_id, span.span_id), index);
            continue;
        };
        let line = lines.get(first).copied().unwrap_or(0);
        verdicts[index] = Some(if spans[first] == *span {
            Dropped::Copy(format!(
                "span {} «{}» is a copy of the one at line {line}: counted once",
                span.span_id_hex(),
                span.name
            ))
        } else {
            Dropped::Refused(format!(
                "span id {} «{}» is already used by «{}» at line {line} of the same trace",
                span.span_id_hex(),
                span.name,
                spans[first].name
            ))
        });
    }
}

/// Keeps the largest run of starts with no gap over `WINDOW_NS` (the earliest of equals);
/// refuses spans that start outside it or end more than `WINDOW_NS` after it.
fn window(spans: &[SpanRecord], verdicts: &mut [Option<Dropped>]) {
    let mut starts: Vec<u64> = spans
        .iter()
        .zip(verdicts.iter())
        .filter(|(_, verdict)| verdict.is_none())
        .map(|(span, _)| span.start_unix_ns)
        .collect();
    if starts.is_empty() {
        return;
    }
    starts.sort_unstable();
    let (mut best, mut best_len) = ((starts[0], starts[0]), 0usize);
    let (mut run_start, mut run_len) = (0usize, 0usize);
    for (i, &start) in starts.iter().enumerate() {
        if i > 0 && start - starts[i - 1] > WINDOW_NS {
            run_start = i;
            run_len = 0;
        }
        run_len += 1;
        if run_len > best_len {
            best = (starts[run_start], start);
            best_len = run_len;
        }
    }
    let (low, high) = best;
    let span_of_others = format!("{} to {}", describe_ns(low), describe_ns(high));
    for (span, verdict) in spans.iter().zip(verdicts.iter_mut()) {
        if verdict.is_some() {
            continue;
        }
        let reason = if span.start_unix_ns < low {
            Some(format!(
                "starts at {}, {} before the file's other spans ({span_of_others})",
                describe_ns(span.start_unix_ns),
                describe_gap(low - span.start_unix_ns)
            ))
        } else if span.start_unix_ns > high {
            Some(format!(
                "starts at {}, {} after the file's other spans ({span_of_others})",
                describe_ns(span.start_unix_ns),
                describe_gap(span.start_unix_ns - high)
            ))
        } else if span.end_unix_ns.saturating_sub(high) > WINDOW_NS {
            Some(format!(
                "ends at {}, {} after the file's other spans ({span_of_others})",
                describe_ns(span.end_unix_ns),
                describe_gap(span.end_unix_ns - high)
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            *verdict = Some(Dropped::Refused(format!(
                "span {} «{}» {reason}",
                span.span_id_hex(),
                span.name
            )));
        }
    }
}

fn describe_gap(ns: u64) -> String {
    let days = ns as f64 / WINDOW_NS as f64;
    if days >= 730.0 {
        format!("{:.0} years", days / 365.25)
    } else {
        format!("{days:.1} days")
    }
}

/// Refuses every span on a loop of parent links (a span its own ancestor): such links are
/// false, and a parent check could pass on them.
fn cycles(spans: &[SpanRecord], verdicts: &mut [Option<Dropped>]) {
    let index_of: HashMap<(u128, u64), usize> = spans
        .iter()
        .enumerate()
        .filter(|(i, _)| verdicts[*i].is_none())
        .map(|(i, span)| ((span.trace_id, span.span_id), i))
        .collect();
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![UNSEEN; spans.len()];
    let mut on_cycle: Vec<Vec<usize>> = Vec::new();
    for root in 0..spans.len() {
        if state[root] != UNSEEN || verdicts[root].is_some() {
            continue;
        }
        // Each span joins one path once, so the walks take as many steps as there are spans.
        let mut path = Vec::new();
        let mut at = Some(root);
        while let Some(i) = at {
            match state[i] {
                UNSEEN => {
                    state[i] = ON_PATH;
                    path.push(i);
                    at = spans[i]
                        .parent_span_id
                        .and_then(|parent| index_of.get(&(spans[i].trace_id, parent)).copied());
                }
                ON_PATH => {
                    let from = path.iter().position(|&p| p == i).unwrap_or(0);
                    on_cycle.push(path[from..].to_vec());
                    at = None;
                }
                _ => at = None,
            }
        }
        for i in path {
            state[i] = DONE;
        }
    }
    for cycle in on_cycle {
        let mut names: Vec<String> = cycle.iter().map(|&i| spans[i].span_id_hex()).collect();
        names.push(spans[cycle[0]].span_id_hex());
        let loop_text = names.join(" → ");
        for &i in &cycle {
            verdicts[i] = Some(Dropped::Refused(format!(
                "span {} «{}» is its own ancestor (parent cycle {loop_text})",
                spans[i].span_id_hex(),
                spans[i].name
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::SpanStatus;

    const DAY_NS: u64 = WINDOW_NS;
    const BASE_NS: u64 = 1_714_557_600_000_000_000;

    fn span(span_id: u64, parent: Option<u64>, start_ns: u64, end_ns: u64) -> SpanRecord {
        SpanRecord {
            trace_id: 7,
            span_id,
            parent_span_id: parent,
            name: "work.claim".into(),
            start_unix_ns: start_ns,
            end_unix_ns: end_ns,
            status: SpanStatus::Unset,
            attributes: Vec::new(),
        }
    }

    fn refused(spans: &[SpanRecord]) -> Vec<(usize, String)> {
        let lines: Vec<usize> = (1..=spans.len()).collect();
        check(spans, &lines)
            .into_iter()
            .enumerate()
            .filter_map(|(i, verdict)| match verdict {
                Some(Dropped::Refused(reason)) => Some((i, reason)),
                _ => None,
            })
            .collect()
    }

    // Proves a span far after, far before or ending far after the others is refused, and
    // that spans a day apart with no gap over a day are all kept.
    #[test]
    fn refuses_spans_outside_the_window() {
        let spans = [
            span(1, None, BASE_NS, BASE_NS + 1),
            span(2, None, BASE_NS + 5, BASE_NS + 9),
            span(
                3,
                None,
                BASE_NS + 300 * DAY_NS * 365,
                BASE_NS + 300 * DAY_NS * 365,
            ),
            span(4, None, BASE_NS - 3 * DAY_NS, BASE_NS - 3 * DAY_NS),
            span(5, None, BASE_NS + 2, BASE_NS + 2 * DAY_NS),
        ];
        let found = refused(&spans);
        let at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [2, 3, 4], "{found:?}");
        assert!(found[0].1.contains("300 years after"), "{}", found[0].1);
        assert!(found[1].1.contains("3.0 days before"), "{}", found[1].1);
        assert!(found[2].1.contains("ends at"), "{}", found[2].1);

        let steady: Vec<SpanRecord> = (0..5)
            .map(|day| {
                span(
                    day + 1,
                    None,
                    BASE_NS + day * DAY_NS,
                    BASE_NS + day * DAY_NS,
                )
            })
            .collect();
        assert!(refused(&steady).is_empty());
    }

    // Proves a copy is counted once without refusal, and a clashing id is refused.
    #[test]
    fn duplicate_ids_reported() {
        let spans = [
            span(1, None, BASE_NS, BASE_NS + 1),
            span(1, None, BASE_NS, BASE_NS + 1),
            span(1, None, BASE_NS, BASE_NS + 2),
        ];
        let lines = [10, 11, 12];
        let verdicts = check(&spans, &lines);
        assert_eq!(verdicts[0], None);
        assert!(matches!(&verdicts[1], Some(Dropped::Copy(r)) if r.contains("line 10")));
        assert!(matches!(&verdicts[2], Some(Dropped::Refused(r)) if r.contains("already used")));
    }

    // Proves spans on a parent loop (and a span its own parent) are refused, while their
    // children off the loop are kept.
    #[test]
    fn parent_cycles_reported() {
        let spans = [
            span(1, Some(2), BASE_NS, BASE_NS),
            span(2, Some(1), BASE_NS, BASE_NS),
            span(3, Some(1), BASE_NS, BASE_NS),
            span(4, Some(4), BASE_NS, BASE_NS),
            span(5, Some(99), BASE_NS, BASE_NS),
        ];
        let found = refused(&spans);
        let at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [0, 1, 3], "{found:?}");
        assert!(found[0].1.contains("parent cycle"), "{}", found[0].1);
    }
}
