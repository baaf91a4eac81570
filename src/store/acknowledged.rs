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
use crate::evidence::Verdict;
use crate::telemetry::SpanRecord;

/// (item, stage, agent) of one completed stage.
type Completion = (String, usize, String);

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

/// Every acknowledged completion is logged, and every finished item's last stage was
/// acknowledged; unreadable files fail the verdict with the reason.
pub fn acknowledged_completions_kept(spans: &[SpanRecord], dir: &Path) -> Verdict {
    let check = format!(
        "every acknowledged completion is in {} and every finished item was acknowledged",
        dir.join(COORDINATION_LOG_FILE).display()
    );
    let files = read_array::<LogEntry>(&dir.join(COORDINATION_LOG_FILE)).and_then(|log| {
        read_array::<WorkClaim>(&dir.join(WORK_CLAIMS_FILE)).map(|claims| (log, claims))
    });
    let (log, claims) = match files {
        Ok(files) => files,
        Err(error) => {
            return Verdict::new(
                check,
                false,
                "readable coordination files",
                "a file could not be read",
                vec![error.to_string()],
            )
        }
    };
    let acknowledged = acknowledged(spans);
    let logged: BTreeSet<Completion> = log
        .iter()
        .map(|entry| {
            let key = (entry.work_item_id.clone(), entry.stage);
            (key.0, key.1, entry.agent_id.clone())
        })
        .collect();
    let mut evidence: Vec<String> = acknowledged
        .difference(&logged)
        .map(|(item, stage, agent)| {
            format!("lost: {agent} was told it completed {item} stage {stage}, but the log has no such entry")
        })
        .collect();
    let lost = evidence.len();
    for claim in claims.iter().filter(|c| c.status == STATUS_COMPLETED) {
        let explained = acknowledged
            .iter()
            .any(|(item, stage, _)| *item == claim.work_item_id && *stage == claim.stage);
        if !explained {
            evidence.push(format!(
                "unexplained: {} is completed at stage {} in {WORK_CLAIMS_FILE}, but no \
                 process was told it completed that stage",
                claim.work_item_id, claim.stage
            ));
        }
    }
    let unexplained = evidence.len() - lost;
    let passed = evidence.is_empty();
    if passed {
        evidence.push(format!(
            "{} acknowledged completions, {} log entries, {} items completed",
            acknowledged.len(),
            log.len(),
            claims
                .iter()
                .filter(|c| c.status == STATUS_COMPLETED)
                .count()
        ));
    }
    Verdict::new(
        check,
        passed,
        "0 lost and 0 unexplained completions",
        format!(
            "{lost} lost, {unexplained} unexplained of {} acknowledged",
            acknowledged.len()
        ),
        evidence,
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
        assert!(acknowledged_completions_kept(&spans, dir.path()).passed);

        write_store(dir.path(), "[]", CLAIMS_DONE);
        let verdict = acknowledged_completions_kept(&spans, dir.path());
        assert!(!verdict.passed);
        assert_eq!(verdict.observed, "1 lost, 0 unexplained of 1 acknowledged");
        assert!(verdict.evidence[0].contains("a-1 was told it completed w-1"));
    }

    // Proves a completed item no acknowledged operation explains is reported.
    #[test]
    fn finds_an_unexplained_completion() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_store(dir.path(), "[]", CLAIMS_DONE);
        let verdict = acknowledged_completions_kept(&[], dir.path());
        assert!(!verdict.passed);
        assert!(verdict.evidence[0].starts_with("unexplained: w-1"));
    }

    // Proves an unreadable store fails with the reason instead of passing vacuously.
    #[test]
    fn fails_on_an_unreadable_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_store(dir.path(), "{not json", CLAIMS_DONE);
        let verdict = acknowledged_completions_kept(&[], dir.path());
        assert!(!verdict.passed);
        assert!(verdict.evidence[0].contains(COORDINATION_LOG_FILE));
    }
}
