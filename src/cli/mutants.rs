//! `swarmspec verify --mutants`: the suite once per planted engine defect, judged against
//! the correct engine's run into a `KillMatrix`.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use swarmspec::coordination::Mutant;
use swarmspec::mutants::{KillMatrix, MutantRun};
use swarmspec::report::ScenarioResult;
use swarmspec::steps::world::MUTANT_OVERRIDE;
use swarmspec::steps::{run_suite, SuiteOptions};

/// The mutants `--mutants` selected.
#[derive(Debug, Clone)]
pub struct Selection(Vec<Mutant>);

/// Parses `--mutants`: every shipped mutant for `all`, else a comma-separated list of names.
pub fn parse(names: &str) -> Result<Selection, String> {
    if names.trim() == "all" {
        return Ok(Selection(Mutant::all().to_vec()));
    }
    names
        .split(',')
        .map(|name| {
            Mutant::from_name(name).ok_or_else(|| {
                format!(
                    "no mutant «{}»; known: all, {}",
                    name.trim(),
                    Mutant::names()
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(Selection)
}

/// Puts the process-wide mutant back to none however the suite run ends.
struct Selected;

impl Selected {
    fn set(mutant: Option<Mutant>) {
        *MUTANT_OVERRIDE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = mutant;
    }
}

impl Drop for Selected {
    fn drop(&mut self) {
        Self::set(None);
    }
}

/// Runs the suite `template` describes once per mutant (reports under
/// `<reports_dir>/mutants/<name>`), judges each run against `correct` (the same suite on
/// the correct engine), and prints the matrix.
pub fn run(
    selection: &Selection,
    template: &SuiteOptions,
    correct: &[ScenarioResult],
) -> anyhow::Result<KillMatrix> {
    let mut matrix = KillMatrix::default();
    for &mutant in &selection.0 {
        let options = SuiteOptions {
            reports_dir: mutant_dir(&template.reports_dir, mutant),
            quiet: true,
            finished_scenarios: None,
            // The live view shows the suite the user asked for, not the mutants' reruns.
            live: None,
            ..template.clone()
        };
        let started = Instant::now();
        let scenarios = {
            let _selected = Selected;
            Selected::set(Some(mutant));
            futures::executor::block_on(run_suite(&options))
                .with_context(|| format!("running the suite against mutant {mutant}"))?
                .scenarios
        };
        let run = MutantRun::judge(mutant, &scenarios, correct, started.elapsed());
        eprintln!(
            "mutant {mutant}: {} in {:.1} s",
            if run.survived() {
                "SURVIVED".to_owned()
            } else {
                format!("killed by {} scenarios", run.killed_by.len())
            },
            run.duration_s
        );
        matrix.runs.push(run);
    }
    println!("\nkill matrix (mutant × scenarios that failed on it):");
    print!("{}", matrix.render_text());
    let survivors = matrix.survivors();
    if !survivors.is_empty() {
        eprintln!(
            "mutants no scenario killed (the suite cannot see these defects): {}",
            survivors.join(", ")
        );
    }
    Ok(matrix)
}

fn mutant_dir(reports_dir: &Path, mutant: Mutant) -> std::path::PathBuf {
    reports_dir.join("mutants").join(mutant.name())
}
