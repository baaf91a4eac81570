//! `swarmspec check-docs` and `swarmspec history`: the ledger's results read back, for prose
//! and for trends.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use swarmspec::claims::ClaimResult;
use swarmspec::docs_check;
use swarmspec::report::{self, history};

/// Options of `swarmspec check-docs`.
#[derive(Debug, Args)]
pub struct CheckDocsArgs {
    /// Markdown files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A run's report directory whose claims back the prose [default: the latest run in the
    /// history].
    #[arg(long)]
    report: Option<PathBuf>,
    /// History file to take the latest run from.
    #[arg(long, default_value = "reports/history.jsonl")]
    history: PathBuf,
}

/// The runs in the history file; each line that is not a run is a warning naming it.
pub fn read_history(path: &Path) -> anyhow::Result<Vec<history::HistoryLine>> {
    let read = history::read(path)?;
    for skipped in &read.skipped {
        eprintln!("warning: {}: {skipped}: skipped", path.display());
    }
    Ok(read.runs)
}

fn claims_of(report_dir: Option<&Path>, history_path: &Path) -> anyhow::Result<Vec<ClaimResult>> {
    if let Some(dir) = report_dir {
        return Ok(report::read(&dir.join("report.json"))?.claims);
    }
    let runs = read_history(history_path)?;
    let last = runs.last().with_context(|| {
        format!(
            "{} holds no run: run `swarmspec verify` first, or pass --report",
            history_path.display()
        )
    })?;
    Ok(last.claims.clone())
}

/// Reports every numeric claim in the files that no VERIFIED claim backs.
pub fn check_docs(args: CheckDocsArgs) -> anyhow::Result<ExitCode> {
    let claims = claims_of(args.report.as_deref(), &args.history)?;
    let mut unbacked = 0;
    let mut total = 0;
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for claim in docs_check::check(&text, &claims) {
            total += 1;
            match &claim.problem {
                Some(problem) => {
                    unbacked += 1;
                    outln!(
                        "{}:{}: {problem}: {}",
                        file.display(),
                        claim.line,
                        claim.text
                    );
                }
                None => outln!(
                    "{}:{}: backed by {} (measured: {})",
                    file.display(),
                    claim.line,
                    claim.claim_id.unwrap_or_default(),
                    claim.measured.join(", ")
                ),
            }
            for note in &claim.unchecked {
                println!("{}:{}:   unchecked: {note}", file.display(), claim.line);
            }
        }
    }
    outln!("{total} numeric claims, {unbacked} not backed by a VERIFIED claim");
    Ok(if unbacked == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Options of `swarmspec history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// History file.
    #[arg(long, default_value = "reports/history.jsonl")]
    history: PathBuf,
    /// Runs to show per claim, newest last.
    #[arg(long, default_value_t = 10, value_parser = super::numbers::Usize(super::numbers::Whole::Usize))]
    last: usize,
}

/// Prints each claim's observations over the last runs, with the change between the last two.
pub fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let runs = read_history(&args.history)?;
    if runs.is_empty() {
        outln!(
            "{} holds no run yet: run `swarmspec verify`",
            args.history.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let shown = &runs[runs.len().saturating_sub(args.last)..];
    let mut ids: Vec<&str> = Vec::new();
    for run in shown {
        for claim in &run.claims {
            if !ids.contains(&claim.id.as_str()) {
                ids.push(&claim.id);
            }
        }
    }
    for id in ids {
        let points: Vec<(&str, &ClaimResult)> = shown
            .iter()
            .filter_map(|run| {
                run.claims
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| (run.run_id.as_str(), c))
            })
            .collect();
        let Some((_, latest)) = points.last() else {
            continue;
        };
        outln!(
            "{id}  ({}, {}; expected {})",
            latest.metric,
            latest.unit,
            latest.expected
        );
        for (run_id, claim) in &points {
            let observed = claim
                .observed
                .map_or("—".to_owned(), swarmspec::claims::format_value);
            outln!(
                "  {run_id:<28} {:<11} {observed:>16}",
                claim.status.as_str()
            );
        }
        let values: Vec<f64> = points.iter().filter_map(|(_, c)| c.observed).collect();
        if let [.., before, now] = values[..] {
            if before != 0.0 {
                outln!(
                    "  change since previous run: {:+.1} %",
                    (now - before) / before.abs() * 100.0
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
