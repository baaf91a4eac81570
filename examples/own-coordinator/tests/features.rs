//! swarmspec's whole step catalogue, run against `TinyLedger` with this crate's own feature
//! files and its own step (`steps/`). `cargo test -p own-coordinator` runs it.

mod steps;

use std::process::ExitCode;
use std::sync::Arc;

use own_coordinator::TinyLedger;
use swarmspec::steps::{run_suite, SuiteOptions};
use swarmspec::systems::SystemSpec;

fn main() -> ExitCode {
    let tiny = SystemSpec::custom("tiny-ledger", TinyLedger::CAPABILITIES, |run| {
        Ok(Arc::new(TinyLedger::new(run.lease_ns)))
    });
    let options = SuiteOptions {
        features_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/features").into(),
        reports_dir: concat!(env!("CARGO_TARGET_TMPDIR"), "/own-coordinator-reports").into(),
        system: Some(tiny),
        extra_step_sources: vec![("tiny", include_str!("steps/mod.rs"))],
        ..SuiteOptions::default()
    };
    match futures::executor::block_on(run_suite(&options)) {
        Ok(outcome) if outcome.passed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
