//! Runs every feature file under a directory with the shared steps, printing to the terminal
//! and writing JUnit and cucumber JSON reports.

use std::fs::File;
use std::path::Path;

use anyhow::Context as _;
use cucumber::writer::{self, Stats as _};
use cucumber::{World as _, WriterExt as _};

use super::SwarmWorld;

/// Runs the features in `features_dir`; writes `junit.xml` and `cucumber.json` into
/// `reports_dir`. Returns whether everything passed (no failed, skipped or unparsed step).
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
    let finished = SwarmWorld::cucumber()
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
    Ok(!finished.execution_has_failed())
}
