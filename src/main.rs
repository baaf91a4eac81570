//! The `swarmspec` command line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        // The reader went away (`| head`): nothing to say, and nobody to say it to.
        Err(error) if cli::output::is_stdout_closed(&error) => {
            ExitCode::from(cli::output::STDOUT_CLOSED_EXIT_CODE)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
