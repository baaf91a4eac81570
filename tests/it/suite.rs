//! The one way the integration tests run a feature text through the real suite runner: write
//! it to a fresh temp directory and run it quietly, so a change to `SuiteOptions` touches one
//! place.

use swarmspec::steps::{run_suite, SuiteOptions, SuiteOutcome};

/// Runs `text` as `features/NAME` in a fresh directory; the directory lives as long as the
/// returned guard (reports are in `reports/` beside the features).
pub fn run_text(name: &str, text: &str) -> (tempfile::TempDir, SuiteOutcome) {
    let dir = tempfile::tempdir().expect("temp dir");
    let features = dir.path().join("features");
    std::fs::create_dir_all(&features).expect("features dir");
    std::fs::write(features.join(name), text).expect("write feature");
    let options = SuiteOptions {
        features_dir: features,
        reports_dir: dir.path().join("reports"),
        quiet: true,
        ..SuiteOptions::default()
    };
    swarmspec::steps::set_executable(env!("CARGO_BIN_EXE_swarmspec"));
    let outcome = futures::executor::block_on(run_suite(&options)).expect("the suite runs");
    (dir, outcome)
}
