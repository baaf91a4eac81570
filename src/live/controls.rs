//! The compliance panel: the four controls (audit integrity, no secrets, least privilege,
//! input validation) as the verdicts that decided them say, or "not decided" for a control
//! no verdict has judged yet. Nothing here judges: a control's state is its verdict's.

use serde::Serialize;

use crate::evidence::Verdict;

/// The controls, by the words their verdicts' checks start with after `control: `.
pub const CONTROLS: [&str; 4] = [
    "audit integrity",
    "no secrets",
    "least privilege",
    "input validation",
];

/// Evidence lines kept per control.
const EVIDENCE_SHOWN: usize = 3;

/// One control's state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ControlState {
    /// The control's name.
    pub control: &'static str,
    /// `passed`, `failed` or `not decided`.
    pub state: &'static str,
    /// What its verdict observed.
    pub observed: String,
    /// The first evidence lines (the caller withholds any the secret scanner flags).
    pub evidence: Vec<String>,
}

/// The four controls, from `verdicts` (the latest verdict on a control wins); `None` when
/// no verdict is about a control, so runs without compliance show no panel.
pub fn from_verdicts(verdicts: &[Verdict]) -> Option<Vec<ControlState>> {
    let about = |control: &str| {
        verdicts.iter().rev().find(|v| {
            v.check
                .strip_prefix("control: ")
                .is_some_and(|rest| rest.starts_with(control))
        })
    };
    if CONTROLS.iter().all(|control| about(control).is_none()) {
        return None;
    }
    Some(
        CONTROLS
            .iter()
            .map(|&control| match about(control) {
                Some(verdict) => ControlState {
                    control,
                    state: if verdict.passed { "passed" } else { "failed" },
                    observed: verdict.observed.clone(),
                    evidence: verdict
                        .evidence
                        .iter()
                        .take(EVIDENCE_SHOWN)
                        .cloned()
                        .collect(),
                },
                None => ControlState {
                    control,
                    state: "not decided",
                    observed: String::new(),
                    evidence: Vec::new(),
                },
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a control takes its verdict's state, an unjudged one is "not decided", and a
    // run without control verdicts has no panel.
    #[test]
    fn controls_follow_their_verdicts() {
        let verdict =
            |check: &str, passed| Verdict::new(check, passed, "x", "seen", vec!["line".into()]);
        assert!(from_verdicts(&[verdict("no double holds", true)]).is_none());
        let panel = from_verdicts(&[
            verdict("control: audit integrity", true),
            verdict("control: no secrets in src", false),
        ])
        .unwrap_or_default();
        let states: Vec<_> = panel.iter().map(|c| c.state).collect();
        assert_eq!(states, ["passed", "failed", "not decided", "not decided"]);
        assert_eq!(panel[1].evidence, ["line"]);
    }
}
