//! `swarmspec spans check FILE`: judge spans a real system wrote.
//!
//! Without `--feature`, it maps the file's naming onto swarmspec's (`--mapping`, or guesses
//! it reports), prints what the reader skipped grouped by reason, and the two checks every
//! coordinator must pass (no double hold, no error span), each PASS, FAIL or NOT
//! APPLICABLE. With `--feature F`, it runs the feature file F with the file under check:
//! F's scenarios load it with `Given the spans under check` and may then use every evidence
//! step (the steps read the file as written: no mapping applies there).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use swarmspec::ingest::{self, mapping::Mapping, mapping_file};
use swarmspec::steps::ingestion::SPANS_UNDER_CHECK;
use swarmspec::steps::{run_suite, SuiteOptions};

use super::listing::ListingArgs;
use super::spans_checks::{self, CheckJson, Strict};

/// Subcommands of `swarmspec spans`.
#[derive(Debug, Subcommand)]
pub enum SpansCommand {
    /// Read a span file (OTLP JSON or a span log) and judge it: no work item held by two
    /// agents at once, no span with status error. Each check is PASS, FAIL or NOT
    /// APPLICABLE (its subject is not in the file: no `work.claim` span, no span at all).
    /// Exit 0 only when no check failed and at least one applied (and, with --strict, no
    /// fragment was skipped); 1 otherwise.
    ///
    /// Another tool's naming is mapped first: a name ending with one of swarmspec's after a
    /// `.` or `_` (`s2s.work.claim`, `s2s.work_item_id`) and common status words
    /// (`success`, `failed`, `{"code": 2}`) are guessed and each guess is reported;
    /// `--mapping FILE` says it explicitly, `--no-guess` turns guessing off.
    Check(CheckArgs),
}

/// Options of `swarmspec spans check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The span file: OTLP JSON (one document per line, as the collector's file exporter
    /// writes it) or a span log of concatenated JSON objects.
    file: PathBuf,
    /// A feature file whose scenarios start with `Given the spans under check` (its steps
    /// read the file as written, so --mapping and --json do not apply).
    #[arg(long, conflicts_with_all = ["mapping", "json"])]
    feature: Option<PathBuf>,
    /// Where the feature run writes junit.xml, cucumber.json and verdicts.json.
    #[arg(long, default_value = "reports/spans-check")]
    out: PathBuf,
    /// Fail when the file has fragments that could not be read as spans.
    #[arg(long)]
    strict: bool,
    /// A TOML file mapping another tool's names onto swarmspec's: sections [span_names],
    /// [attributes] (name = "swarmspec name"), [status] (value = "ok" | "error" | "unset")
    /// and [outcomes] (work.outcome value = "claimed" …). Its entries win over guesses.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Map only what --mapping says: no guessing by suffix or by common status words.
    #[arg(long)]
    no_guess: bool,
    #[command(flatten)]
    listing: ListingArgs,
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
    let guess = !args.no_guess;
    let mapping = match (&args.mapping, &args.feature) {
        (Some(path), _) => mapping_file::load(path, guess)?,
        // The feature's steps read the file as written; so does the summary above them.
        (None, Some(_)) => Mapping::none(),
        (None, None) if guess => Mapping::guessing(),
        (None, None) => Mapping::none(),
    };
    let (ingested, mapped) = ingest::read_path_mapped(&args.file, &mapping)?;
    let skipped = ingested.report.skipped_total;
    let strict = Strict {
        asked: args.strict,
        passed: !args.strict || skipped == 0,
    };
    if let Some(feature) = &args.feature {
        print_read(&args, &ingested.report)?;
        print_strict(&strict, skipped)?;
        let passed = run_feature(&args, feature)?;
        return Ok(exit_code(passed && strict.passed));
    }
    let checks = spans_checks::run(&ingested);
    let document = CheckJson::new(
        args.file.display().to_string(),
        &ingested.report,
        &mapped,
        &checks,
        strict,
    );
    if args.listing.json {
        outln!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(exit_code(document.passed));
    }
    print_read(&args, &ingested.report)?;
    for applied in &mapped.applied {
        outln!("{applied}");
    }
    for note in &mapped.ambiguous {
        outln!("not guessed: {note}");
    }
    print_strict(&document.strict, skipped)?;
    for outcome in &checks {
        outln!("{outcome}");
    }
    if checks
        .iter()
        .all(|c| c.status == spans_checks::Status::NotApplicable)
    {
        outln!("FAIL no check applied: nothing in the file was judged");
    }
    Ok(exit_code(document.passed))
}

fn exit_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The read's summary, then the skipped fragments grouped by reason under the listing's
/// limit.
fn print_read(args: &CheckArgs, report: &ingest::IngestReport) -> anyhow::Result<()> {
    outln!("{}: {}", args.file.display(), report.summary());
    let findings = spans_checks::skipped_findings(report);
    if !findings.is_empty() {
        out!("{}", args.listing.render(&findings));
    }
    if report.skipped_total > report.skipped.len() {
        outln!(
            "  ({} more fragments were skipped past the first {} listed; counted, not kept)",
            report.skipped_total - report.skipped.len(),
            report.skipped.len()
        );
    }
    Ok(())
}

fn print_strict(strict: &Strict, skipped: usize) -> anyhow::Result<()> {
    if !strict.passed {
        outln!(
            "FAIL --strict: every fragment of the file is a span: {skipped} fragments could not \
             be read as spans (listed above)"
        );
    }
    Ok(())
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
