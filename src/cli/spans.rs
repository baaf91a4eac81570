//! `swarmspec spans check FILE`: judge spans a real system wrote.
//!
//! Without `--feature`, it prints what the reader skipped and the two checks every
//! coordinator must pass (no double hold, no error span). With `--feature F`, it runs the
//! feature file F with the file under check: F's scenarios load it with
//! `Given the spans under check` and may then use every evidence step.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use swarmspec::evidence;
use swarmspec::ingest;
use swarmspec::steps::ingestion::SPANS_UNDER_CHECK;
use swarmspec::steps::{run_suite, SuiteOptions};

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

/// Bytes of a span file looked at to tell text from a binary file.
const SNIFF_LEN_BYTES: u64 = 8 << 10;

/// Refuses, with a message that says so, a span file that is empty or not text (a NUL byte,
/// or bytes that are not UTF-8, in its first `SNIFF_LEN_BYTES`): the reader would otherwise
/// report only "0 spans read", or garbage fragments, and never why.
pub fn check_span_file(path: &Path) -> anyhow::Result<()> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the span file {}", path.display()))?;
    let mut head = Vec::new();
    file.take(SNIFF_LEN_BYTES)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read the span file {}", path.display()))?;
    if head.iter().all(u8::is_ascii_whitespace) {
        anyhow::bail!(
            "{} is empty{}: a span file holds OTLP JSON or span-log objects",
            path.display(),
            if head.is_empty() {
                ""
            } else {
                " (only whitespace)"
            }
        );
    }
    let text_len = match std::str::from_utf8(&head) {
        Ok(_) => head.len(),
        // A multi-byte character cut at the sniff's end is still text.
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Err(error) => {
            anyhow::bail!(
                "{} is not text (bytes that are not UTF-8 at offset {}): a span file holds JSON",
                path.display(),
                error.valid_up_to()
            )
        }
    };
    if let Some(offset) = head[..text_len].iter().position(|&b| b == 0) {
        anyhow::bail!(
            "{} is not text (a NUL byte at offset {offset}): a span file holds JSON",
            path.display()
        );
    }
    Ok(())
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    check_span_file(&args.file)?;
    let ingested = ingest::read_path(&args.file)?;
    outln!("{}: {}", args.file.display(), ingested.report);
    let skipped = ingested.report.skipped_total;
    let fragments_ok = !args.strict || skipped == 0;
    if !fragments_ok {
        outln!(
            "FAIL --strict: every fragment of the file is a span: {skipped} fragments could not \
             be read as spans (listed above)"
        );
    }
    let passed = match &args.feature {
        Some(feature) => run_feature(&args, feature)?,
        None => {
            let verdicts = [
                evidence::history::no_overlapping_holds(&ingested.spans),
                evidence::ingestion::no_error_spans(&ingested.spans),
            ]
            .map(|verdict| evidence::ingestion::qualified(verdict, &ingested.report));
            for verdict in &verdicts {
                outln!("{verdict}");
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
