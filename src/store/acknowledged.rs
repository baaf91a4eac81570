//! Whether a store kept what it acknowledged: every completion a process was told succeeded
//! (a `work.complete` span with outcome `completed`) must be in `coordination_log.json` with
//! the same item, stage and agent, and every item the store shows finished must have such an
//! acknowledged completion of its last stage. The first direction finds lost updates (a write
//! acknowledged, then overwritten by a stale read-modify-write or never made durable); the
//! second finds state that no acknowledged operation explains.
//!
//! It reads the spans the processes wrote and the files the store holds, and trusts neither
//! the engine's counters nor a process's own summary.

use std::collections::BTreeSet;
use std::path::Path;

use super::files::read_array;
use super::layout::*;
use crate::error::{Error, Result};
use crate::evidence::Verdict;
use crate::telemetry::SpanRecord;

/// (item, stage, agent) of one completed stage.
pub type Completion = (String, usize, String);

/// Acknowledged completions in the spans.
fn acknowledged(spans: &[SpanRecord]) -> BTreeSet<Completion> {
    spans
        .iter()
        .filter(|span| span.name == "work.complete")
        .filter(|span| span.attr_text("work.outcome").as_deref() == Some("completed"))
        .filter_map(|span| {
            let item = span.attr_text("work.item_id")?;
            let stage = span.attr_text("work.stage")?.parse().ok()?;
            let agent = span.attr_text("agent.id")?;
            Some((item, stage, agent))
        })
        .collect()
}

/// What the spans acknowledged and the store holds, compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Completions the spans acknowledged.
    pub acknowledged: usize,
    /// Entries in the coordination log.
    pub logged: usize,
    /// Acknowledged completions the log does not hold, one line each.
    pub lost: Vec<String>,
    /// Items completed in `work_claims.json` with no acknowledged completion of that stage.
    pub unexplained: Vec<String>,
}

/// Compares the acknowledged completions in `spans` with the files in `dir`.
pub fn compare(spans: &[SpanRecord], dir: &Path) -> Result<Comparison> {
    let log: Vec<LogEntry> = read_array(&dir.join(COORDINATION_LOG_FILE))?;
    let claims: Vec<WorkClaim> = read_array(&dir.join(WORK_CLAIMS_FILE))?;
    let logged = log
        .iter()
        .map(|entry| {
            (
                entry.work_item_id.clone(),
                entry.stage,
                entry.agent_id.clone(),
            )
        })
        .collect();
    let finished = claims
        .iter()
        .filter(|claim| claim.status == STATUS_COMPLETED)
        .map(|claim| (claim.work_item_id.clone(), claim.stage))
        .collect();
    Ok(compare_with(spans, logged, finished, WORK_CLAIMS_FILE))
}

/// Compares the acknowledged completions in `spans` with a store's log of completions
/// (`logged`: item, stage, agent) and the items it shows finished (`finished`: item and its
/// last stage), wherever the store keeps them; `finished_in` names where, for the evidence.
pub fn compare_with(
    spans: &[SpanRecord],
    logged: Vec<Completion>,
    finished: Vec<(String, usize)>,
    finished_in: &str,
) -> Comparison {
    let acknowledged = acknowledged(spans);
    let logged_count = logged.len();
    let logged: BTreeSet<Completion> = logged.into_iter().collect();
    let lost = acknowledged
        .difference(&logged)
        .map(|(item, stage, agent)| {
            format!(
                "{agent} was told it completed {item} stage {stage}, but the log has no such entry"
            )
        })
        .collect();
    let unexplained = finished
        .iter()
        .filter(|(item, stage)| {
            !acknowledged
                .iter()
                .any(|(acked, acked_stage, _)| acked == item && acked_stage == stage)
        })
        .map(|(item, stage)| {
            format!(
                "{item} is completed at stage {stage} in {finished_in}, but no process was told \
                 it completed that stage"
            )
        })
        .collect();
    Comparison {
        acknowledged: acknowledged.len(),
        logged: logged_count,
        lost,
        unexplained,
    }
}

fn unreadable(check: String, error: &Error) -> Verdict {
    Verdict::new(
        check,
        false,
        "readable coordination files",
        "a file could not be read",
        vec![error.to_string()],
    )
}

/// Every completion a process was told succeeded is in the coordination log (no lost
/// update), judged from the spans and the files; unreadable files fail it.
pub fn no_lost_completions(spans: &[SpanRecord], dir: &Path) -> Verdict {
    let check = format!(
        "every acknowledged completion is in {}",
        dir.join(COORDINATION_LOG_FILE).display()
    );
    lost_verdict(check, compare(spans, dir))
}

/// `no_lost_completions` for a comparison made elsewhere (another store's log), under the
/// check's name `check`; a failed read fails it.
pub fn lost_verdict(check: String, comparison: Result<Comparison>) -> Verdict {
    let comparison = match comparison {
        Ok(comparison) => comparison,
        Err(error) => return unreadable(check, &error),
    };
    let passed = comparison.lost.is_empty();
    let evidence = if passed {
        vec![format!(
            "{} acknowledged completions, {} log entries",
            comparison.acknowledged, comparison.logged
        )]
    } else {
        comparison.lost.clone()
    };
    Verdict::new(
        check,
        passed,
        "0 acknowledged completions missing",
        format!(
            "{} missing of {} acknowledged",
            comparison.lost.len(),
            comparison.acknowledged
        ),
        evidence,
    )
}

/// At most `in_flight_max` items are completed in the store without an acknowledged
/// completion: 0 for a run that ended normally; for a process killed mid-run, the calls it
/// had in flight (the store committed them, the process died before recording the answer).
pub fn unexplained_completions_at_most(
    spans: &[SpanRecord],
    dir: &Path,
    in_flight_max: usize,
) -> Verdict {
    let check = format!(
        "every completed item in {} was acknowledged to some process",
        dir.join(WORK_CLAIMS_FILE).display()
    );
    unexplained_verdict(check, compare(spans, dir), in_flight_max)
}

/// `unexplained_completions_at_most` for a comparison made elsewhere, named `check`.
pub fn unexplained_verdict(
    check: String,
    comparison: Result<Comparison>,
    in_flight_max: usize,
) -> Verdict {
    let comparison = match comparison {
        Ok(comparison) => comparison,
        Err(error) => return unreadable(check, &error),
    };
    let count = comparison.unexplained.len();
    Verdict::new(
        check,
        count <= in_flight_max,
        format!("at most {in_flight_max} unexplained completions"),
        format!("{count} unexplained"),
        comparison.unexplained,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{AttrValue, SpanStatus};

    fn complete_span(item: &str, stage: i64, agent: &str) -> SpanRecord {
        SpanRecord {
            trace_id: 1,
            span_id: 2,
            parent_span_id: None,
            name: "work.complete".into(),
            start_unix_ns: 0,
            end_unix_ns: 1,
            status: SpanStatus::Unset,
            attributes: vec![
                ("agent.id".into(), AttrValue::Str(agent.into())),
                ("work.item_id".into(), AttrValue::Str(item.into())),
                ("work.stage".into(), AttrValue::Int(stage)),
                ("work.outcome".into(), AttrValue::Str("completed".into())),
            ],
        }
    }

    fn write_store(dir: &Path, log: &str, claims: &str) {
        std::fs::write(dir.join(COORDINATION_LOG_FILE), log).expect("write log");
        std::fs::write(dir.join(WORK_CLAIMS_FILE), claims).expect("write claims");
    }

    const CLAIMS_DONE: &str = r#"[{"work_item_id":"w-1","status":"completed","stage":0}]"#;

    // Proves a kept completion passes and a completion missing from the log is named as lost.
    #[test]
    fn finds_a_lost_completion() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = r#"[{"work_item_id":"w-1","agent_id":"a-1","stage":0}]"#;
        write_store(dir.path(), log, CLAIMS_DONE);
        let spans = [complete_span("w-1", 0, "a-1")];
        assert!(no_lost_completions(&spans, dir.path()).passed);
        assert!(unexplained_completions_at_most(&spans, dir.path(), 0).passed);

        write_store(dir.path(), "[]", CLAIMS_DONE);
        let verdict = no_lost_completions(&spans, dir.path());
        assert!(!verdict.passed);
        assert_eq!(verdict.observed, "1 missing of 1 acknowledged");
        assert!(verdict.evidence[0].contains("a-1 was told it completed w-1"));
    }

    // Proves a completed item no acknowledged operation explains is reported.
    #[test]
    fn finds_an_unexplained_completion() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_store(dir.path(), "[]", CLAIMS_DONE);
        let verdict = unexplained_completions_at_most(&[], dir.path(), 0);
        assert!(!verdict.passed);
        assert!(verdict.evidence[0].starts_with("w-1 is completed at stage 0"));
        assert!(unexplained_completions_at_most(&[], dir.path(), 1).passed);
    }

    // Proves an unreadable store fails with the reason instead of passing vacuously.
    #[test]
    fn fails_on_an_unreadable_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_store(dir.path(), "{not json", CLAIMS_DONE);
        let verdict = no_lost_completions(&[], dir.path());
        assert!(!verdict.passed);
        assert!(verdict.evidence[0].contains(COORDINATION_LOG_FILE));
    }
}
