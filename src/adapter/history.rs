//! The history checker: what the system acknowledged, against the state it ends in.
//!
//! In the manner of Jepsen's checkers it trusts only two things: the operations it made (with
//! their invoke and completion times and what came back) and the final state read after
//! every agent stopped. An acknowledgement the final state does not reflect is a lost update;
//! two acknowledged claims whose holds overlap are a double hold. Each anomaly names the
//! operation, its agent and the state observed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{AdapterRun, FinalState, Operation};
use crate::evidence::Verdict;
use crate::store::layout::{STATUS_COMPLETED, STATUS_STAGE_DONE};
use crate::telemetry::OpKind;

/// What kind of anomaly was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum AnomalyKind {
    /// An acknowledged submission whose item is not in the final state.
    LostSubmit,
    /// An acknowledged claim the final state shows no trace of (another holder, or nobody).
    LostClaim,
    /// Acknowledged progress overwritten by an older value, or by another holder.
    LostProgress,
    /// An acknowledged completion the final state does not show.
    LostCompletion,
    /// Two acknowledged claims of one item whose holds overlap.
    DoubleHold,
}

impl AnomalyKind {
    /// Words for it, as evidence lines start.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::LostSubmit => "lost submission",
            AnomalyKind::LostClaim => "lost claim",
            AnomalyKind::LostProgress => "lost progress",
            AnomalyKind::LostCompletion => "lost completion",
            AnomalyKind::DoubleHold => "double hold",
        }
    }
}

/// One anomaly: the operation it is about and what was observed instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// Its kind.
    pub kind: AnomalyKind,
    /// The acknowledged operation that is not reflected (for a double hold: the later claim).
    pub operation: Operation,
    /// What the final state (or the other hold) showed.
    pub observed: String,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; {}",
            self.kind.as_str(),
            self.operation,
            self.observed
        )
    }
}

fn anomaly(kind: AnomalyKind, operation: &Operation, observed: String) -> Anomaly {
    Anomaly {
        kind,
        operation: operation.clone(),
        observed,
    }
}

/// Whether `agent` has an acknowledged completion of `item`.
fn completed_by(operations: &[Operation], agent: &str, item: &str) -> bool {
    operations.iter().any(|op| {
        op.kind == OpKind::Complete
            && op.acknowledged()
            && op.agent.as_deref() == Some(agent)
            && op.item.as_deref() == Some(item)
    })
}

/// The anomaly, if any, of one acknowledged operation against the final state.
fn lost(op: &Operation, operations: &[Operation], state: &FinalState) -> Option<Anomaly> {
    let item = op.item.as_deref()?;
    let observed = || state.describe(item);
    let Some(entry) = state.item(item) else {
        let kind = match op.kind {
            OpKind::Submit => AnomalyKind::LostSubmit,
            OpKind::Claim => AnomalyKind::LostClaim,
            OpKind::Progress => AnomalyKind::LostProgress,
            _ => AnomalyKind::LostCompletion,
        };
        return Some(anomaly(kind, op, observed()));
    };
    let agent = op.agent.as_deref();
    let holder = entry.agent_id.as_deref();
    let finished = matches!(entry.status.as_str(), STATUS_COMPLETED | STATUS_STAGE_DONE);
    match op.kind {
        OpKind::Claim => {
            // A system may clear the holder when an item is done; the claim then shows through
            // the same agent's acknowledged completion.
            let traced = holder == agent
                || (holder.is_none()
                    && finished
                    && agent.is_some_and(|a| completed_by(operations, a, item)));
            (!traced).then(|| anomaly(AnomalyKind::LostClaim, op, observed()))
        }
        OpKind::Progress => {
            let reported = op.progress.unwrap_or(0);
            let kept = finished || (holder == agent && entry.progress >= reported);
            (!kept).then(|| anomaly(AnomalyKind::LostProgress, op, observed()))
        }
        OpKind::Complete => {
            let kept = finished && (holder.is_none() || holder == agent);
            (!kept).then(|| anomaly(AnomalyKind::LostCompletion, op, observed()))
        }
        _ => None,
    }
}

/// Every acknowledged update the final state does not reflect (none if it is unreadable:
/// `state_readable` reports that).
pub fn lost_updates(run: &AdapterRun) -> Vec<Anomaly> {
    run.operations
        .iter()
        .filter(|op| op.acknowledged())
        .filter_map(|op| lost(op, &run.operations, &run.state))
        .collect()
}

/// One agent's tenure of an item, from its acknowledged claim.
struct Hold<'a> {
    claim: &'a Operation,
    /// When the claim was acknowledged (the hold had begun by then).
    start_ns: u64,
    /// When the holder's complete was invoked; never, if it was not.
    end_ns: u64,
}

/// Pairs of acknowledged claims of one item whose holds overlap. A hold runs from the claim's
/// acknowledgement to the invocation of the holder's complete: taken late and ended early, so
/// a correct system can never look like it double-held with calls in flight side by side.
/// A refused progress does not end it: the adapter's agents never release and the systems it
/// drives have no lease expiry it could see, so an item taken from its holder without a
/// release is exactly the double hold this check exists for.
pub fn double_holds(run: &AdapterRun) -> Vec<Anomaly> {
    let mut by_item: BTreeMap<&str, Vec<Hold<'_>>> = BTreeMap::new();
    for claim in run
        .operations
        .iter()
        .filter(|op| op.kind == OpKind::Claim && op.acknowledged())
    {
        let (Some(item), Some(agent)) = (claim.item.as_deref(), claim.agent.as_deref()) else {
            continue;
        };
        let end_ns = run
            .operations
            .iter()
            .filter(|op| {
                op.invoke_ns >= claim.complete_ns
                    && op.agent.as_deref() == Some(agent)
                    && op.item.as_deref() == Some(item)
                    && op.kind == OpKind::Complete
            })
            .map(|op| op.invoke_ns)
            .min()
            .unwrap_or(u64::MAX);
        by_item.entry(item).or_default().push(Hold {
            claim,
            start_ns: claim.complete_ns,
            end_ns,
        });
    }
    let mut found = Vec::new();
    for holds in by_item.values() {
        for (i, first) in holds.iter().enumerate() {
            for second in &holds[i + 1..] {
                let overlap = first.start_ns < second.end_ns && second.start_ns < first.end_ns;
                if overlap && first.claim.agent != second.claim.agent {
                    let (earlier, later) = if first.start_ns <= second.start_ns {
                        (first, second)
                    } else {
                        (second, first)
                    };
                    let until = match earlier.end_ns {
                        u64::MAX => "the end of the run".to_owned(),
                        ns => format!("{:.1} ms", ns as f64 / 1e6),
                    };
                    let observed = format!(
                        "{} still held it (acknowledged by op #{}, held until {until})",
                        earlier.claim.agent.as_deref().unwrap_or("?"),
                        earlier.claim.index
                    );
                    found.push(anomaly(AnomalyKind::DoubleHold, later.claim, observed));
                }
            }
        }
    }
    found
}

/// Passes when the final state was read and parses as a `work_claims.json` array, and lists
/// something when items were submitted.
pub fn state_readable(run: &AdapterRun) -> Verdict {
    let expected = "the final state parses as a work_claims.json array of the run's items";
    let (passed, observed, evidence) = match &run.state.entries {
        Err(problem) => (
            false,
            "it could not be used".to_owned(),
            vec![problem.clone()],
        ),
        Ok(entries) if entries.is_empty() && !run.items.is_empty() => (
            false,
            format!(
                "an empty array, after {} items were submitted",
                run.items.len()
            ),
            Vec::new(),
        ),
        Ok(entries) => (true, format!("{} entries", entries.len()), Vec::new()),
    };
    let mut evidence = evidence;
    evidence.insert(0, format!("read from {}", run.state.source));
    Verdict::new(
        "the final state is readable",
        passed,
        expected,
        observed,
        evidence,
    )
}

/// Passes when every acknowledged submission, claim, progress and completion shows in the
/// final state; fails (naming each lost one) otherwise, and when the state is unreadable.
pub fn no_lost_updates(run: &AdapterRun) -> Verdict {
    let acknowledged = run
        .operations
        .iter()
        .filter(|op| op.acknowledged() && op.item.is_some())
        .count();
    let expected = "every acknowledged submit, claim, progress and complete is in the final state";
    if let Err(problem) = &run.state.entries {
        return Verdict::new(
            "no acknowledged update was lost",
            false,
            expected,
            format!("cannot tell: the final state is unreadable ({problem})"),
            vec![format!("read from {}", run.state.source)],
        );
    }
    let anomalies = lost_updates(run);
    let mut counts: BTreeMap<AnomalyKind, usize> = BTreeMap::new();
    for found in &anomalies {
        *counts.entry(found.kind).or_default() += 1;
    }
    let breakdown: Vec<String> = counts
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.as_str()))
        .collect();
    let observed = if anomalies.is_empty() {
        format!("all {acknowledged} acknowledged updates are there")
    } else {
        format!(
            "{} of {acknowledged} acknowledged updates lost ({})",
            anomalies.len(),
            breakdown.join(", ")
        )
    };
    let evidence = anomalies.iter().map(Anomaly::to_string).collect();
    Verdict::new(
        "no acknowledged update was lost",
        anomalies.is_empty(),
        expected,
        observed,
        evidence,
    )
}

/// Passes when no two acknowledged claims of an item have overlapping holds.
pub fn no_double_holds(run: &AdapterRun) -> Verdict {
    let claims = run
        .operations
        .iter()
        .filter(|op| op.kind == OpKind::Claim && op.acknowledged())
        .count();
    let anomalies = double_holds(run);
    Verdict::new(
        "no item was held by two agents at once (from acknowledged claims)",
        anomalies.is_empty(),
        "0 overlapping holds",
        format!(
            "{} overlapping holds among {claims} acknowledged claims",
            anomalies.len()
        ),
        anomalies.iter().map(Anomaly::to_string).collect(),
    )
}

/// Every check of the history, in report order.
pub fn check(run: &AdapterRun) -> Vec<Verdict> {
    vec![
        state_readable(run),
        no_lost_updates(run),
        no_double_holds(run),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Outcome;

    fn op(
        kind: OpKind,
        agent: &str,
        item: &str,
        span_ms: (u64, u64),
        outcome: Outcome,
    ) -> Operation {
        Operation {
            index: 0,
            kind,
            agent: Some(agent.into()),
            item: Some(item.into()),
            progress: (kind == OpKind::Progress).then_some(50),
            invoke_ns: span_ms.0 * 1_000_000,
            complete_ns: span_ms.1 * 1_000_000,
            outcome,
            exit_code: Some(0),
            stdout_excerpt: String::new(),
        }
    }

    fn run_of(mut operations: Vec<Operation>, state: &str) -> AdapterRun {
        operations.sort_by_key(|op| op.invoke_ns);
        for (index, op) in operations.iter_mut().enumerate() {
            op.index = index;
        }
        AdapterRun {
            config_path: "adapter.toml".into(),
            run_dir: "run".into(),
            agents: vec!["a".into(), "b".into()],
            items: vec!["i".into()],
            operations,
            state: FinalState {
                source: "state.json".into(),
                entries: super::super::state::parse(state),
            },
            concurrency: 2,
            agents_duration_ns: 1,
        }
    }

    const DONE_BY_B: &str =
        r#"[{"work_item_id": "i", "agent_id": "b", "status": "completed", "progress": 100}]"#;

    // Proves a serial, correct history has no anomaly at all.
    #[test]
    fn a_correct_history_passes_every_check() {
        use OpKind::*;
        let run = run_of(
            vec![
                op(Claim, "a", "i", (0, 5), Outcome::Conflict),
                op(Claim, "b", "i", (1, 4), Outcome::Ok),
                op(Progress, "b", "i", (6, 8), Outcome::Ok),
                op(Complete, "b", "i", (9, 12), Outcome::Ok),
            ],
            DONE_BY_B,
        );
        assert!(check(&run).iter().all(|v| v.passed), "{:?}", check(&run));
    }

    // Proves two acknowledged claims of an item, the first holder refused later, are a double
    // hold and a lost claim, each naming the operation, the agent and the state observed.
    #[test]
    fn a_claim_taken_without_release_is_a_double_hold_and_a_lost_claim() {
        use OpKind::*;
        let run = run_of(
            vec![
                op(Claim, "a", "i", (0, 30), Outcome::Ok),
                op(Claim, "b", "i", (1, 35), Outcome::Ok),
                op(Progress, "a", "i", (31, 60), Outcome::Conflict),
                op(Progress, "b", "i", (36, 50), Outcome::Ok),
                op(Complete, "b", "i", (51, 70), Outcome::Ok),
            ],
            DONE_BY_B,
        );
        let holds = no_double_holds(&run);
        assert!(
            !holds.passed
                && holds.evidence[0].contains("by b")
                && holds.evidence[0].contains("a still held it"),
            "{holds}"
        );
        let lost = no_lost_updates(&run);
        assert!(!lost.passed, "{lost}");
        assert!(
            lost.evidence[0].starts_with("lost claim: op #0 claim i by a")
                && lost.evidence[0].contains("agent=b"),
            "{lost}"
        );
    }

    // Proves an acknowledged completion and progress overwritten by older values are lost.
    #[test]
    fn overwritten_completion_and_progress_are_lost_updates() {
        use OpKind::*;
        let stale =
            r#"[{"work_item_id": "i", "agent_id": "a", "status": "in_progress", "progress": 0}]"#;
        let run = run_of(
            vec![
                op(Claim, "a", "i", (0, 5), Outcome::Ok),
                op(Progress, "a", "i", (6, 8), Outcome::Ok),
                op(Complete, "a", "i", (9, 12), Outcome::Ok),
            ],
            stale,
        );
        let kinds: Vec<AnomalyKind> = lost_updates(&run).iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![AnomalyKind::LostProgress, AnomalyKind::LostCompletion]
        );
    }

    // Proves an unreadable or empty state fails both state verdicts instead of passing vacuously.
    #[test]
    fn an_unreadable_state_fails() {
        let run = run_of(
            vec![op(OpKind::Claim, "a", "i", (0, 5), Outcome::Ok)],
            "{oops",
        );
        assert!(!state_readable(&run).passed);
        assert!(!no_lost_updates(&run).passed);
        let empty = run_of(Vec::new(), "[]");
        assert!(!state_readable(&empty).passed);
    }
}
