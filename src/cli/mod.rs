//! Argument parsing and dispatch to the subcommands.

mod bench;
mod docs;
mod embedded;
mod progress;
mod run;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Turns claims about multi-agent swarms into evidence.
///
/// A swarm of simulated agents drives a coordinator; every operation is captured as an
/// OpenTelemetry span and an HDR latency sample, and every verdict is computed from that
/// capture, never from what the coordinator says about itself.
#[derive(Debug, Parser)]
#[command(name = "swarmspec", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Gherkin suite, decide every claim in the ledger from the captured evidence,
    /// and write report.json, report.md, junit.xml and report.html (the nightly job).
    Verify(verify::VerifyArgs),
    /// Run one swarm and print its measured figures and the conflicts the checker found.
    Run(run::RunArgs),
    /// Measure throughput, latency and memory against a raw compare-and-swap baseline, print
    /// the table and write reports/bench.json (`--quick` for a small version).
    Bench(bench::BenchArgs),
    /// Print each claim's observations over the last runs recorded in the history.
    History(docs::HistoryArgs),
    /// Report numeric claims in Markdown files that no VERIFIED claim backs
    /// (write `[claim: id]` next to a figure to back it).
    CheckDocs(docs::CheckDocsArgs),
}

/// Runs the chosen subcommand; the exit code says whether its checks passed.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Verify(args) => verify::verify(args),
        Command::Bench(args) => bench::bench(args),
        Command::History(args) => docs::history(args),
        Command::CheckDocs(args) => docs::check_docs(args),
    }
}
