//! Runs every feature file under a directory with the shared steps, printing to the terminal
//! and writing JUnit and cucumber JSON reports.

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use cucumber::writer::{self, Stats as _};
use cucumber::{World as _, WriterExt as _};

use super::SwarmWorld;
use swarmspec::evidence::Verdict;

/// The verdicts one scenario reached, for the ledger printed and written after the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioEvidence {
    /// Feature name.
    pub feature: String,
    /// Scenario name.
    pub scenario: String,
    /// The seed its swarm ran with (replays it).
    pub seed: u64,
    /// Every verdict, in step order.
    pub verdicts: Vec<Verdict>,
}

type Ledger = Arc<Mutex<Vec<ScenarioEvidence>>>;

fn lock(ledger: &Ledger) -> std::sync::MutexGuard<'_, Vec<ScenarioEvidence>> {
    // The ledger is only appended to; a panic elsewhere leaves it usable.
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn print_ledger(entries: &[ScenarioEvidence]) {
    println!();
    println!("[Evidence] expected vs observed, per scenario");
    for entry in entries {
        println!(
            "  {} › {} (seed {})",
            entry.feature, entry.scenario, entry.seed
        );
        for verdict in &entry.verdicts {
            for (i, line) in verdict.to_string().lines().enumerate() {
                println!("    {}{line}", if i == 0 { "" } else { "  " });
            }
        }
    }
}

/// Runs the features in `features_dir`; writes `junit.xml`, `cucumber.json` and
/// `verdicts.json` (every verdict with its expected, observed and evidence) into `reports_dir`. Returns whether everything passed (no failed, skipped or unparsed step).
pub async fn run_features(features_dir: &Path, reports_dir: &Path) -> anyhow::Result<bool> {
    std::fs::create_dir_all(reports_dir).with_context(|| {
        format!(
            "cannot create the report directory {}",
            reports_dir.display()
        )
    })?;
    let open = |name: &str| {
        let path = reports_dir.join(name);
        File::create(&path).with_context(|| format!("cannot write {}", path.display()))
    };
    let junit = open("junit.xml")?;
    let json = open("cucumber.json")?;
    let ledger: Ledger = Arc::default();
    let collected = Arc::clone(&ledger);
    let finished = SwarmWorld::cucumber()
        .after(move |feature, _rule, scenario, _finished, world| {
            if let Some(world) = world {
                lock(&collected).push(ScenarioEvidence {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    seed: world.config.seed,
                    verdicts: std::mem::take(&mut world.verdicts),
                });
            }
            Box::pin(async {})
        })
        // Swarm runs are CPU-bound and block while they run: one at a time keeps timings honest.
        .max_concurrent_scenarios(1)
        .with_writer(
            writer::Basic::raw(std::io::stdout(), writer::Coloring::Auto, 0)
                .summarized()
                .tee::<SwarmWorld, _>(writer::JUnit::for_tee(junit, 0))
                .tee::<SwarmWorld, _>(writer::Json::for_tee(json))
                .normalized(),
        )
        .fail_on_skipped()
        .with_default_cli()
        .run(features_dir)
        .await;
    let entries = lock(&ledger).clone();
    print_ledger(&entries);
    let path = reports_dir.join("verdicts.json");
    let json = serde_json::to_string_pretty(&entries).context("serialising the verdicts")?;
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    // A suite that ran no step proves nothing: count it as a failure, not a pass.
    let ran_something = finished.passed_steps() + finished.failed_steps() > 0;
    if !ran_something {
        eprintln!("no step ran: is {} empty?", features_dir.display());
    }
    Ok(ran_something && !finished.execution_has_failed())
}
