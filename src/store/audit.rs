//! Audit of a coordination directory another tool (or a crashed run) left behind.
//!
//! It trusts nothing the files say about themselves: each file must parse, each entry must
//! have the layout's shape, and the files must agree with one another. Every anomaly names
//! the file and the entry (its index and item or agent id), in the manner of a Jepsen
//! checker's report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::layout::*;
use crate::evidence::Verdict;
use crate::ingest::fields::id_from_text;
use crate::telemetry::SpanRecord;

/// One thing wrong with the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// The file it was found in.
    pub file: String,
    /// The entry: `[index] id`, or empty for the whole file.
    pub entry: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.entry.is_empty() {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{} {}: {}", self.file, self.entry, self.problem)
        }
    }
}

fn anomaly(file: &str, entry: String, problem: impl Into<String>) -> Anomaly {
    Anomaly {
        file: file.into(),
        entry,
        problem: problem.into(),
    }
}

/// Reads one file's entries; everything that keeps an entry from being read is an anomaly.
fn entries<T: DeserializeOwned>(dir: &Path, file: &str, found: &mut Vec<Anomaly>) -> Vec<T> {
    let text = match std::fs::read_to_string(dir.join(file)) {
        Ok(text) => text,
        Err(error) => {
            found.push(anomaly(
                file,
                String::new(),
                format!("cannot read: {error}"),
            ));
            return Vec::new();
        }
    };
    if text.trim().is_empty() {
        found.push(anomaly(file, String::new(), "the file is empty"));
        return Vec::new();
    }
    let values: Vec<Value> = match serde_json::from_str(&text) {
        Ok(values) => values,
        Err(error) => {
            found.push(anomaly(
                file,
                String::new(),
                format!("not a JSON array: {error}"),
            ));
            return Vec::new();
        }
    };
    let mut typed = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        match serde_json::from_value(value) {
            Ok(entry) => typed.push(entry),
            Err(error) => found.push(anomaly(file, format!("[{index}]"), error.to_string())),
        }
    }
    typed
}

/// Every anomaly in the directory, files in layout order.
pub fn audit_dir(dir: &Path) -> Vec<Anomaly> {
    let mut found = Vec::new();
    let claims: Vec<WorkClaim> = entries(dir, WORK_CLAIMS_FILE, &mut found);
    let agents: Vec<AgentStatus> = entries(dir, AGENT_STATUS_FILE, &mut found);
    let log: Vec<LogEntry> = entries(dir, COORDINATION_LOG_FILE, &mut found);
    if dir.join(super::journal::JOURNAL_FILE).exists() {
        found.push(anomaly(
            super::journal::JOURNAL_FILE,
            String::new(),
            "a writer died mid-commit: the files may disagree until the next transaction \
             finishes the commit",
        ));
    }

    let registered: BTreeSet<&str> = agents.iter().map(|a| a.agent_id.as_str()).collect();
    let mut entries_by_item: BTreeMap<&str, Vec<(usize, &WorkClaim)>> = BTreeMap::new();
    for (index, claim) in claims.iter().enumerate() {
        entries_by_item
            .entry(&claim.work_item_id)
            .or_default()
            .push((index, claim));
        let entry = format!("[{index}] {}", claim.work_item_id);
        if let Some(agent) = claim.agent_id.as_deref() {
            if !registered.contains(agent) {
                found.push(anomaly(
                    WORK_CLAIMS_FILE,
                    entry.clone(),
                    format!("held by {agent}, who is not in {AGENT_STATUS_FILE}"),
                ));
            }
        }
        let logged = log.iter().any(|l| l.work_item_id == claim.work_item_id);
        if claim.status == STATUS_COMPLETED && !logged {
            found.push(anomaly(
                WORK_CLAIMS_FILE,
                entry,
                format!("completed, but {COORDINATION_LOG_FILE} has no entry for it"),
            ));
        }
    }
    for (item, copies) in entries_by_item.iter().filter(|(_, c)| c.len() > 1) {
        let holders: BTreeSet<&str> = copies
            .iter()
            .filter(|(_, c)| matches!(c.status.as_str(), STATUS_ACTIVE | STATUS_IN_PROGRESS))
            .filter_map(|(_, c)| c.agent_id.as_deref())
            .collect();
        let indices: Vec<String> = copies.iter().map(|(i, _)| i.to_string()).collect();
        let problem = if holders.len() > 1 {
            format!(
                "held by {} agents at once: {}",
                holders.len(),
                holders.into_iter().collect::<Vec<_>>().join(", ")
            )
        } else {
            "duplicate work_item_id".to_owned()
        };
        found.push(anomaly(
            WORK_CLAIMS_FILE,
            format!("[{}] {item}", indices.join(", ")),
            problem,
        ));
    }
    for (index, entry) in log.iter().enumerate() {
        let at = format!("[{index}] {}", entry.work_item_id);
        if !entries_by_item.contains_key(entry.work_item_id.as_str()) {
            found.push(anomaly(
                COORDINATION_LOG_FILE,
                at.clone(),
                format!("logs an item that is not in {WORK_CLAIMS_FILE}"),
            ));
        }
        if !registered.contains(entry.agent_id.as_str()) {
            found.push(anomaly(
                COORDINATION_LOG_FILE,
                at,
                format!(
                    "completed by {}, who is not in {AGENT_STATUS_FILE}",
                    entry.agent_id
                ),
            ));
        }
    }
    found
}

/// Claims whose recorded trace id (`telemetry.trace_id`) names no span in `spans`: the
/// tool said it traced the operation, but the span log has no trace of it. Claims with no
/// trace id are not judged (nothing was said).
pub fn untraced_claims(dir: &Path, spans: &[SpanRecord]) -> Vec<Anomaly> {
    let mut found = Vec::new();
    let claims: Vec<WorkClaim> = entries(dir, WORK_CLAIMS_FILE, &mut found);
    let traces: BTreeSet<u128> = spans.iter().map(|span| span.trace_id).collect();
    for (index, claim) in claims.iter().enumerate() {
        let text = claim.telemetry.trace_id.trim();
        if text.is_empty() {
            continue;
        }
        let traced = id_from_text(text).is_some_and(|id| traces.contains(&id));
        if !traced {
            found.push(anomaly(
                WORK_CLAIMS_FILE,
                format!("[{index}] {}", claim.work_item_id),
                format!("its trace id {text} has no span in the span log"),
            ));
        }
    }
    found
}

/// The directory has no anomaly.
pub fn no_anomalies(dir: &Path) -> Verdict {
    no_anomalies_with_spans(dir, None)
}

/// The directory has no anomaly and, when `spans` are given, every claim's trace id names
/// one of their traces.
pub fn no_anomalies_with_spans(dir: &Path, spans: Option<&[SpanRecord]>) -> Verdict {
    let mut found = audit_dir(dir);
    if let Some(spans) = spans {
        found.extend(untraced_claims(dir, spans));
    }
    Verdict::new(
        format!("the coordination files in {} agree", dir.display()),
        found.is_empty(),
        "0 anomalies",
        format!("{} anomalies", found.len()),
        found.iter().map(ToString::to_string).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).expect("write fixture");
    }

    // Proves each kind of anomaly is reported with its file and entry.
    #[test]
    fn reports_every_kind_of_anomaly() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            WORK_CLAIMS_FILE,
            r#"[{"work_item_id": "w1", "agent_id": "a1", "status": "active"},
                {"work_item_id": "w1", "agent_id": "a2", "status": "active"},
                {"work_item_id": "w2", "agent_id": "ghost", "status": "completed"},
                {"agent_id": "a1"}]"#,
        );
        write(
            dir.path(),
            AGENT_STATUS_FILE,
            r#"[{"agent_id": "a1"}, {"agent_id": "a2"}]"#,
        );
        write(dir.path(), COORDINATION_LOG_FILE, "");
        let text: Vec<String> = audit_dir(dir.path())
            .iter()
            .map(ToString::to_string)
            .collect();
        let all = text.join("\n");
        assert!(all.contains("work_claims.json [3]: missing field"), "{all}");
        assert!(
            all.contains("coordination_log.json: the file is empty"),
            "{all}"
        );
        assert!(
            all.contains("[0, 1] w1: held by 2 agents at once: a1, a2"),
            "{all}"
        );
        assert!(all.contains("[2] w2: held by ghost, who is not"), "{all}");
        assert!(
            all.contains("[2] w2: completed, but coordination_log.json"),
            "{all}"
        );
        assert_eq!(text.len(), 5, "{all}");
    }

    // Proves a claim whose trace id is missing from the span log is reported, and one whose
    // trace is present, or that names no trace, is not.
    #[test]
    fn reports_claims_without_their_trace() {
        let dir = tempfile::tempdir().expect("temp dir");
        let claims = r#"[
            {"work_item_id":"w-1","status":"active","telemetry":{"trace_id":"0af7651916cd43dd8448eb211c80319c"}},
            {"work_item_id":"w-2","status":"active","telemetry":{"trace_id":"00000000000000000000000000000abc"}},
            {"work_item_id":"w-3","status":"pending"}
        ]"#;
        write(dir.path(), WORK_CLAIMS_FILE, claims);
        let span = SpanRecord {
            trace_id: 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
            span_id: 1,
            parent_span_id: None,
            name: "work.claim".into(),
            start_unix_ns: 0,
            end_unix_ns: 1,
            status: crate::telemetry::SpanStatus::Unset,
            attributes: Vec::new(),
        };
        let found = untraced_claims(dir.path(), &[span]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].entry, "[1] w-2");
    }
}
