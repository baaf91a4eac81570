//! The Gherkin suite: every `.feature` under `features/`, run with the same steps the CLI
//! uses. Exits non-zero if any step fails, is skipped (undefined) or a file does not parse.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    swarmspec::steps::set_executable(env!("CARGO_BIN_EXE_swarmspec"));
    let (features, reports) = (root.join("features"), root.join("reports"));
    match futures::executor::block_on(swarmspec::steps::run_features(&features, &reports)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
