//! `swarmspec spans check FILE`: judge spans a real system wrote.
//!
//! Without `--feature`, it prints what the reader skipped and the two checks every
//! coordinator must pass (no double hold, no error span). With `--feature F`, it runs the
//! feature file F with the file under check: F's scenarios load it with
//! `Given the spans under check` and may then use every evidence step.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::steps::ingestion::SPANS_UNDER_CHECK;
use crate::steps::{run_suite, SuiteOptions};
use swarmspec::evidence;
use swarmspec::ingest;

/// Subcommands of `swarmspec spans`.
#[derive(Debug, Subcommand)]
pub enum SpansCommand {
    /// Read a span file (OTLP JSON or a span log) and judge it.
    Check(CheckArgs),
}

/// Options of `swarmspec spans check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The span file: OTLP JSON (one document per line, as the collector's file exporter
    /// writes it) or a span log of concatenated JSON objects.
    file: PathBuf,
    /// A feature file whose scenarios start with `Given the spans under check`.
    #[arg(long)]
    feature: Option<PathBuf>,
    /// Where the feature run writes junit.xml, cucumber.json and verdicts.json.
    #[arg(long, default_value = "reports/spans-check")]
    out: PathBuf,
    /// Fail when the file has fragments that could not be read as spans.
    #[arg(long)]
    strict: bool,
}

/// Runs `swarmspec spans …`.
pub fn spans(command: SpansCommand) -> anyhow::Result<ExitCode> {
    match command {
        SpansCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let ingested = ingest::read_path(&args.file)?;
    println!("{}: {}", args.file.display(), ingested.report);
    let fragments_ok = !args.strict || ingested.report.skipped_total == 0;
    let passed = match &args.feature {
        Some(feature) => run_feature(&args, feature)?,
        None => {
            let verdicts = [
                evidence::history::no_overlapping_holds(&ingested.spans),
                evidence::ingestion::no_error_spans(&ingested.spans),
            ]
            .map(|verdict| evidence::ingestion::qualified(verdict, &ingested.report));
            for verdict in &verdicts {
                println!("{verdict}");
            }
            verdicts.iter().all(|verdict| verdict.passed)
        }
    };
    Ok(if passed && fragments_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_feature(args: &CheckArgs, feature: &std::path::Path) -> anyhow::Result<bool> {
    if !feature.is_file() {
        anyhow::bail!("--feature {}: no such feature file", feature.display());
    }
    let file = std::path::absolute(&args.file)
        .with_context(|| format!("resolving {}", args.file.display()))?;
    *SPANS_UNDER_CHECK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(file);
    let options = SuiteOptions {
        features_dir: feature.to_path_buf(),
        reports_dir: args.out.clone(),
        ..SuiteOptions::default()
    };
    let outcome = futures::executor::block_on(run_suite(&options))?;
    Ok(outcome.passed)
}
