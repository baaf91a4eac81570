//! Argument parsing and dispatch to the subcommands.

/// `println!` that returns `output::StdoutClosed` (through `?`) when stdout's reader has gone.
macro_rules! outln {
    () => {
        $crate::cli::output::write(format_args!(""), true)?
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!($($arg)*), true)?
    };
}

/// `print!` that returns `output::StdoutClosed` (through `?`) when stdout's reader has gone.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!($($arg)*), false)?
    };
}

mod audit_cmd;
mod bench;
mod bench_stores;
mod command_store;
mod compliance_cmd;
mod docs;
mod embedded;
mod export;
mod listing;
mod mutants;
mod numbers;
pub mod output;
mod progress;
mod run;
mod run_joined;
mod run_report;
mod run_split;
mod serve;
mod spans;
mod spans_checks;
mod steps_cmd;
mod store_cmd;
mod verify;
mod vocabulary_cmd;
mod worker;

use std::process::ExitCode;

use anyhow::Context as _;
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
    /// Join a run started with `swarmspec run --workers …` (on this host or another): take
    /// a share of its agents, work on its shared store, and send every span to it over
    /// OTLP/HTTP. Exits 0 when its share ran to the end.
    Worker(worker::WorkerArgs),
    /// The compliance report: audit integrity, no secrets, least privilege, input validation.
    Compliance(compliance_cmd::ComplianceArgs),
    /// List every step a feature file can use, with its doc and an example.
    Steps(steps_cmd::StepsArgs),
    /// List every span name swarmspec emits with its attributes, their types and values,
    /// and the values of every enumerated step parameter (`--json` for one document).
    Vocabulary(vocabulary_cmd::VocabularyArgs),
    /// Measure throughput, latency and memory against a raw compare-and-swap baseline, print
    /// the table and write reports/bench.json (`--quick` for a small version).
    Bench(bench::BenchArgs),
    /// Print each claim's observations over the last runs recorded in the history.
    History(docs::HistoryArgs),
    /// Report numeric claims in Markdown files that no VERIFIED claim backs
    /// (write `[claim: id]` next to a figure to back it).
    CheckDocs(docs::CheckDocsArgs),
    /// Audit a coordination directory (work_claims.json, agent_status.json,
    /// coordination_log.json): unreadable files, items held twice, completions missing from
    /// the log or logged more than once, log entries and holders nobody registered. Prints
    /// counts by kind, then at most --limit findings of each kind (--all for every one);
    /// --json writes one document with every finding.
    AuditStore(audit_cmd::AuditStoreArgs),
    /// Judge spans a real system wrote (OTLP JSON or a span log).
    #[command(subcommand)]
    Spans(spans::SpansCommand),
    /// One call to a file store from the command line (register, submit, claim, progress,
    /// complete, state), so the command adapter can drive it like any other system.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Serve a finished run in the browser, read-only: the runs in DIR/history.jsonl with
    /// each claim's trend, the newest run's scenarios, claims and report files, and the
    /// invariant, deploy and fault panels of any span file in DIR.
    Serve(serve::ServeDirArgs),
    /// Serve swarmspec's reference engine over the process protocol on stdin/stdout
    /// (docs/process-protocol.md): the protocol's cost baseline, and a model for your own.
    ServeProcess,
}

/// Runs the chosen subcommand; the exit code says whether its checks passed.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Worker(args) => worker::worker(args),
        Command::Verify(args) => verify::verify(args),
        Command::Bench(args) => bench::bench(args),
        Command::History(args) => docs::history(args),
        Command::Steps(args) => steps_cmd::steps(args),
        Command::Vocabulary(args) => vocabulary_cmd::vocabulary(args),
        Command::Compliance(args) => compliance_cmd::compliance(args),
        Command::CheckDocs(args) => docs::check_docs(args),
        Command::Spans(command) => spans::spans(command),
        Command::AuditStore(args) => audit_cmd::audit_store(args),
        Command::Store(command) => store_cmd::store(command),
        Command::Serve(args) => serve::serve_dir(args),
        Command::ServeProcess => serve_process(),
    }
}

/// Serves the reference engine to a parent until stdin closes.
fn serve_process() -> anyhow::Result<ExitCode> {
    use swarmspec::coordination::{Discipline, MemoryCoordinator};
    // Ids count from 0, not from the Unix epoch, so they stay below 2^53 as the protocol asks.
    let factory = Box::new(|lease_ns: u64| {
        Box::new(MemoryCoordinator::new(0, lease_ns, Discipline::Correct))
            as Box<dyn swarmspec::coordination::Coordinator>
    });
    let input = std::io::BufReader::with_capacity(1 << 16, std::io::stdin());
    let output = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    swarmspec::systems::process::server::serve(factory, input, output)
        .context("serving the process protocol")?;
    Ok(ExitCode::SUCCESS)
}
