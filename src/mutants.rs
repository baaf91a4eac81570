//! The kill matrix: which scenarios failed on which planted engine defect.
//!
//! A verdict that can only pass proves nothing. `swarmspec verify --mutants` runs the suite
//! once per `Mutant` of the reference engine; a scenario *kills* a mutant when it failed on
//! it and passed on the correct engine. A mutant no scenario kills survives: the suite
//! cannot see that defect, and the run fails until a check that can is added.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::coordination::Mutant;
use crate::report::{ScenarioResult, ScenarioStatus};

/// A scenario that failed on a mutant, and the first line of why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Kill {
    /// `feature › scenario`.
    pub scenario: String,
    /// The first line of the failing step's message.
    pub failure: String,
    /// Where the scenario ran in the suite (the same order for every mutant).
    pub position: usize,
}

/// One mutant's suite run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MutantRun {
    /// The mutant's name (`Mutant::name`).
    pub mutant: String,
    /// The planted defect in one sentence.
    pub defect: String,
    /// Scenarios that ran against it.
    pub scenarios_run: usize,
    /// Scenarios that failed on it and passed on the correct engine.
    pub killed_by: Vec<Kill>,
    /// Wall-clock time of its suite run, seconds.
    pub duration_s: f64,
}

impl MutantRun {
    /// Judges one mutant's scenarios against the correct engine's: a kill is a scenario
    /// that failed here and passed there (a scenario failing on both tells nothing about
    /// the mutant).
    pub fn judge(
        mutant: Mutant,
        scenarios: &[ScenarioResult],
        correct: &[ScenarioResult],
        duration: Duration,
    ) -> Self {
        let passed_on_correct = |scenario: &ScenarioResult| {
            correct.iter().any(|c| {
                c.feature == scenario.feature
                    && c.name == scenario.name
                    && c.status == ScenarioStatus::Passed
            })
        };
        let killed_by = scenarios
            .iter()
            .enumerate()
            .filter(|(_, s)| s.status != ScenarioStatus::Passed && passed_on_correct(s))
            .map(|(position, s)| Kill {
                position,
                scenario: format!("{} › {}", s.feature, s.name),
                failure: s
                    .failure
                    .as_deref()
                    .and_then(|text| text.lines().find(|line| !line.trim().is_empty()))
                    .unwrap_or("failed")
                    .trim()
                    .to_owned(),
            })
            .collect();
        Self {
            mutant: mutant.name().to_owned(),
            defect: mutant.defect().to_owned(),
            scenarios_run: scenarios.len(),
            killed_by,
            duration_s: duration.as_secs_f64(),
        }
    }

    /// No scenario killed it.
    pub fn survived(&self) -> bool {
        self.killed_by.is_empty()
    }
}

/// Every mutant's run, in `Mutant::all` order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KillMatrix {
    /// One entry per mutant run.
    pub runs: Vec<MutantRun>,
}

impl KillMatrix {
    /// The mutants no scenario killed.
    pub fn survivors(&self) -> Vec<&str> {
        self.runs
            .iter()
            .filter(|run| run.survived())
            .map(|run| run.mutant.as_str())
            .collect()
    }

    /// Every scenario that killed at least one mutant, in suite order (the matrix's
    /// columns).
    pub fn killing_scenarios(&self) -> Vec<&str> {
        let mut kills: Vec<&Kill> = self.runs.iter().flat_map(|run| &run.killed_by).collect();
        kills.sort_by_key(|kill| kill.position);
        let mut scenarios: Vec<&str> = kills.iter().map(|kill| kill.scenario.as_str()).collect();
        scenarios.dedup();
        scenarios
    }

    /// The matrix as text: one line per mutant with its verdict and killers, then a key of
    /// the scenarios (numbered, so lines stay short).
    pub fn render_text(&self) -> String {
        let scenarios = self.killing_scenarios();
        let number = |name: &str| {
            scenarios
                .iter()
                .position(|s| *s == name)
                .map_or(0, |i| i + 1)
        };
        let width = self
            .runs
            .iter()
            .map(|run| run.mutant.len())
            .max()
            .unwrap_or(0)
            .max("mutant".len());
        let mut text = format!(
            "{:<width$}  {:<8} {:>7}  killed by\n",
            "mutant", "status", "time"
        );
        for run in &self.runs {
            let killers: Vec<String> = run
                .killed_by
                .iter()
                .map(|kill| format!("[{}]", number(&kill.scenario)))
                .collect();
            text.push_str(&format!(
                "{:<width$}  {:<8} {:>6.1}s  {}\n",
                run.mutant,
                if run.survived() { "SURVIVED" } else { "killed" },
                run.duration_s,
                if killers.is_empty() {
                    format!("nothing ({} scenarios ran)", run.scenarios_run)
                } else {
                    killers.join(" ")
                }
            ));
        }
        for (i, scenario) in scenarios.iter().enumerate() {
            text.push_str(&format!("[{}] {scenario}\n", i + 1));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, status: ScenarioStatus) -> ScenarioResult {
        let mut result = ScenarioResult::new("f", name, status);
        result.failure =
            (status != ScenarioStatus::Passed).then(|| "FAIL check: why\n  more".into());
        result.seed = 1;
        result.system = "memory".into();
        result
    }

    // Proves only scenarios that passed on the correct engine count as kills, and a mutant
    // with none is a survivor.
    #[test]
    fn kills_need_a_correct_pass() {
        use ScenarioStatus::{Failed, Passed};
        let correct = [
            scenario("a", Passed),
            scenario("b", Failed),
            scenario("c", Passed),
        ];
        let on_mutant = [
            scenario("a", Failed),
            scenario("b", Failed),
            scenario("c", Passed),
        ];
        let killed = MutantRun::judge(Mutant::RacyClaim, &on_mutant, &correct, Duration::ZERO);
        assert_eq!(killed.killed_by.len(), 1);
        assert_eq!(killed.killed_by[0].scenario, "f › a");
        assert_eq!(killed.killed_by[0].failure, "FAIL check: why");
        let survived = MutantRun::judge(Mutant::NeverReap, &correct, &correct, Duration::ZERO);
        let matrix = KillMatrix {
            runs: vec![killed, survived],
        };
        assert_eq!(matrix.survivors(), vec!["never-reap"]);
        let text = matrix.render_text();
        assert!(text.contains("racy-claim"), "{text}");
        assert!(text.contains("SURVIVED"), "{text}");
        assert!(text.contains("[1] f › a"), "{text}");
    }
}
