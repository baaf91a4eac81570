//! `swarmspec audit-store`: the audit of a coordination directory, as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;
use swarmspec::findings::{Finding, KindCount};
use swarmspec::store::audit;

use super::listing::ListingArgs;

/// Options of `swarmspec audit-store`.
#[derive(Debug, clap::Args)]
pub struct AuditStoreArgs {
    /// The directory holding the coordination files.
    dir: PathBuf,
    /// A span log or OTLP JSON file the same system wrote: every claim whose
    /// `telemetry.trace_id` is set must have a span of that trace in it.
    #[arg(long, value_name = "FILE")]
    spans: Option<PathBuf>,
    #[command(flatten)]
    listing: ListingArgs,
}

/// The `--json` document: everything the text says, with every finding whatever the limit.
#[derive(Serialize)]
struct Report<'a> {
    /// The directory audited, as given.
    dir: String,
    /// Whether there was no finding.
    passed: bool,
    /// How many findings in all.
    total: usize,
    /// Counts by kind, most frequent first.
    counts: Vec<KindCount>,
    /// Every finding, in the order found.
    findings: &'a [Finding],
    /// The span file read for `--spans`, and how it read.
    #[serde(skip_serializing_if = "Option::is_none")]
    spans: Option<SpanSource>,
}

/// The span file behind `--spans`.
#[derive(Serialize)]
struct SpanSource {
    file: String,
    report: swarmspec::ingest::IngestReport,
}

/// Prints the findings (counts by kind first); fails if there is one.
pub fn audit_store(args: AuditStoreArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory: audit-store reads the coordination files in one",
            args.dir.display()
        );
    }
    let spans = match &args.spans {
        Some(path) => {
            super::spans::check_span_file(path)?;
            let read = swarmspec::ingest::read_path(path)
                .with_context(|| format!("reading the span file {}", path.display()))?;
            Some((path, read))
        }
        None => None,
    };
    let records = spans.as_ref().map(|(_, read)| read.spans.as_slice());
    let findings = audit::audit_dir_with_spans(&args.dir, records);
    let passed = findings.is_empty();
    if args.listing.json {
        let report = Report {
            dir: args.dir.display().to_string(),
            passed,
            total: findings.len(),
            counts: findings.counts(),
            findings: &findings.findings,
            spans: spans.map(|(path, read)| SpanSource {
                file: path.display().to_string(),
                report: read.report,
            }),
        };
        let text = serde_json::to_string_pretty(&report).context("writing the JSON report")?;
        outln!("{text}");
    } else {
        if let Some((path, read)) = &spans {
            outln!("{}: {}", path.display(), read.report);
        }
        let check = audit::verdict(&args.dir, &findings).check;
        if passed {
            outln!("PASS {check}: no findings");
        } else {
            outln!("FAIL {check}: {} findings", findings.len());
        }
        out!("{}", args.listing.render(&findings));
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
