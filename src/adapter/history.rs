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
    /// An item (or, when claims create items, a piece of work) nobody was acknowledged to
    /// claim.
    NeverClaimed,
    /// An item claimed but whose completion nobody was acknowledged.
    NeverFinished,
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
            AnomalyKind::NeverClaimed => "never claimed",
            AnomalyKind::NeverFinished => "never finished",
        }
    }

    /// The stable key findings carry.
    pub fn key(self) -> &'static str {
        match self {
            AnomalyKind::LostSubmit => "lost_submit",
            AnomalyKind::LostClaim => "lost_claim",
            AnomalyKind::LostProgress => "lost_progress",
            AnomalyKind::LostCompletion => "lost_completion",
            AnomalyKind::DoubleHold => "double_hold",
            AnomalyKind::NeverClaimed => "never_claimed",
            AnomalyKind::NeverFinished => "never_finished",
        }
    }

    fn lost(kind: OpKind) -> Self {
        match kind {
            OpKind::Submit => AnomalyKind::LostSubmit,
            OpKind::Claim => AnomalyKind::LostClaim,
            OpKind::Progress => AnomalyKind::LostProgress,
            _ => AnomalyKind::LostCompletion,
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
    /// The one cause many anomalies share (an unreadable state), when there is one.
    pub cause: Option<String>,
}

impl Anomaly {
    /// As a finding: its kind's key, the operation, what was observed, the shared cause.
    pub fn finding(&self) -> crate::findings::Finding {
        let finding = crate::findings::Finding::new(
            self.kind.key(),
            self.operation.to_string(),
            self.observed.clone(),
        );
        match &self.cause {
            Some(cause) => finding.caused_by(cause.clone()),
            None => finding,
        }
    }
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
        cause: None,
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

/// The anomaly, if any, of one acknowledged operation against the final state. Against an
/// unreadable state every acknowledged update is contradicted: the state holds none of them.
pub(super) fn lost(
    op: &Operation,
    operations: &[Operation],
    state: &FinalState,
) -> Option<Anomaly> {
    let item = op.item.as_deref()?;
    let observed = || state.describe(item);
    if let Err(problem) = &state.entries {
        let mut found = anomaly(
            AnomalyKind::lost(op.kind),
            op,
            format!("the state shows nothing of {item}"),
        );
        found.cause = Some(format!("the final state is unreadable ({problem})"));
        return Some(found);
    }
    let Some(entry) = state.item(item) else {
        return Some(anomaly(AnomalyKind::lost(op.kind), op, observed()));
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

/// Every acknowledged update the final state does not reflect (all of them when it is
/// unreadable, each carrying that cause).
pub fn lost_updates(run: &AdapterRun) -> Vec<Anomaly> {
    run.operations
        .iter()
        .filter(|op| op.acknowledged())
        .filter_map(|op| {
            lost(op, &run.operations, &run.state).or_else(|| {
                // Kept in the end, but a sample read in between showed it lost: a reader then
                // was told something the system had acknowledged otherwise.
                run.samples.iter().find_map(|sample| {
                    super::breakage::contradiction(op, &run.operations, sample).map(|seen| {
                        let kind = AnomalyKind::lost(op.kind);
                        anomaly(kind, op, format!("{seen} (the final state shows it again)"))
                    })
                })
            })
        })
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
    let anomalies = lost_updates(run);
    let mut counts: BTreeMap<AnomalyKind, usize> = BTreeMap::new();
    for found in &anomalies {
        *counts.entry(found.kind).or_default() += 1;
    }
    let breakdown: Vec<String> = counts
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.as_str()))
        .collect();
    let observed = match (&run.state.entries, anomalies.is_empty()) {
        (_, true) => format!("all {acknowledged} acknowledged updates are there"),
        (Err(problem), false) => format!(
            "the final state is unreadable ({problem}), so it contradicts all {} acknowledged updates ({})",
            anomalies.len(),
            breakdown.join(", ")
        ),
        (Ok(_), false) => format!(
            "{} of {acknowledged} acknowledged updates lost ({})",
            anomalies.len(),
            breakdown.join(", ")
        ),
    };
    let mut evidence: Vec<String> = super::breakage::when_it_broke(run).into_iter().collect();
    evidence.extend(anomalies.iter().map(Anomaly::to_string));
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

/// Passes when every call was answered (acknowledged or refused, none failed or timed out)
/// and at least one claim was acknowledged: without it, a config whose every call fails would
/// leave nothing acknowledged and every other check would pass with nothing to judge.
pub fn calls_served(run: &AdapterRun) -> Verdict {
    use super::Outcome;
    let unanswered: Vec<&Operation> = run
        .operations
        .iter()
        .filter(|op| matches!(op.outcome, Outcome::Failed | Outcome::TimedOut))
        .collect();
    let injected = run
        .operations
        .iter()
        .filter(|op| op.outcome == Outcome::Killed)
        .count();
    let claimed = run
        .operations
        .iter()
        .filter(|op| op.kind == OpKind::Claim && op.acknowledged())
        .count();
    Verdict::new(
        "every call was answered",
        unanswered.is_empty() && claimed > 0,
        "0 calls failed or timed out, and at least 1 claim acknowledged",
        format!(
            "{} of {} calls failed or timed out; {claimed} claims acknowledged{}",
            unanswered.len(),
            run.operations.len(),
            match injected {
                0 => String::new(),
                n => format!("; {n} killed on purpose by the fault injector (not counted)"),
            }
        ),
        unanswered.iter().map(ToString::to_string).collect(),
    )
}

/// Every check of the history, in report order.
pub fn check(run: &AdapterRun) -> Vec<Verdict> {
    vec![
        calls_served(run),
        state_readable(run),
        no_lost_updates(run),
        no_double_holds(run),
        super::breakage::every_item_finished(run),
    ]
}

/// Every anomaly the checks found, as findings: lost updates, double holds, abandoned work.
pub fn findings(run: &AdapterRun) -> crate::findings::Findings {
    lost_updates(run)
        .iter()
        .chain(&double_holds(run))
        .map(Anomaly::finding)
        .chain(super::breakage::abandoned(run))
        .collect()
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
