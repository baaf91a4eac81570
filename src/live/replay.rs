//! A finished run served from its files (`swarmspec serve DIR`), read once when the server
//! starts and never written: the runs `history.jsonl` lists, with each claim's observations
//! across them as a trend; the newest run's `report.json` shown as the verify view shows a
//! run at its end (scenarios, verdicts, claims, compliance controls, links to its report
//! files); and every span file (`--spans-out`) in DIR checked by the same invariant checks
//! as the live panel, with its deploy panel and fault timeline.
//!
//! DIR is either a reports directory (`reports/`, holding `history.jsonl` and one directory
//! per run) or one run's directory (holding `report.json`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use super::deploys::DeployPanel;
use super::invariants::{self, InvariantPanel};
use super::suite::SuiteBoard;
use crate::compliance::secrets::SecretScanner;
use crate::error::{Error, Result};
use crate::report::{self, history};

/// Runs listed (the newest), and so points per trend.
pub const RUNS_SHOWN: usize = 200;
/// Span files read.
pub const SPAN_FILES_READ: usize = 8;

/// One run in the history.
#[derive(Debug, Clone, Serialize)]
struct RunRow {
    run_id: String,
    started_unix_s: u64,
    passed: bool,
    verified: usize,
    refuted: usize,
    /// Its report page, relative to DIR, when its directory is there.
    report: Option<String>,
}

/// One claim's observations across runs, oldest first: (run id, value, status).
#[derive(Debug, Clone, Serialize)]
struct Trend {
    id: String,
    unit: String,
    points: Vec<(String, Option<f64>, String)>,
}

/// One span file, checked.
#[derive(Debug, Clone, Serialize)]
struct SpansPanel {
    file: String,
    spans: usize,
    skipped: usize,
    invariants: InvariantPanel,
    deploy: DeployPanel,
    /// (operation, count, p50 µs, p99 µs).
    ops: Vec<(String, u64, f64, f64)>,
}

/// Everything `serve DIR` shows, computed once.
#[derive(Debug)]
pub struct Replay {
    root: PathBuf,
    snapshot: String,
}

/// The files of `dir` with one of `extensions`, sorted by name.
fn files_with(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    found.sort();
    found
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

impl Replay {
    /// Reads `dir`; an error when it holds neither a history, a report nor a span file.
    pub fn open(dir: &Path) -> Result<Self> {
        let problem = |text: String| Error::Live(format!("{}: {text}", dir.display()));
        if !dir.is_dir() {
            return Err(problem("not a directory".into()));
        }
        let history_path = dir.join("history.jsonl");
        let runs = if history_path.is_file() {
            history::read(&history_path)?.runs
        } else {
            Vec::new()
        };
        let runs = &runs[runs.len().saturating_sub(RUNS_SHOWN)..];
        let report_dir = if dir.join("report.json").is_file() {
            Some(dir.to_path_buf())
        } else {
            runs.iter()
                .rev()
                .map(|run| dir.join(&run.run_id))
                .find(|run_dir| run_dir.join("report.json").is_file())
        };
        let mut span_files = files_with(dir, &["spans"]);
        if let Some(run_dir) = report_dir.as_ref().filter(|d| d.as_path() != dir) {
            span_files.extend(files_with(run_dir, &["spans"]));
        }
        span_files.truncate(SPAN_FILES_READ);
        if runs.is_empty() && report_dir.is_none() && span_files.is_empty() {
            return Err(problem(
                "holds no history.jsonl, no report.json and no .spans file: give a reports \
                 directory (verify --out, or reports/) or one with span files (run --spans-out)"
                    .into(),
            ));
        }
        let suite = match &report_dir {
            Some(run_dir) => Some(Self::suite_of(dir, run_dir)?),
            None => None,
        };
        let scanner = SecretScanner::new();
        let spans: Vec<SpansPanel> = span_files
            .iter()
            .map(|path| Self::spans_of(dir, path, &scanner))
            .collect::<Result<_>>()?;
        let snapshot = json!({
            "mode": "replay",
            "replay": { "dir": dir.display().to_string() },
            "suite": suite.as_ref().map(|(title, _, _)| json!({ "title": title })),
            "latest": suite.as_ref().map(|(_, event, _)| event.clone()),
            "files_prefix": suite.as_ref().map(|(_, _, prefix)| prefix.clone()),
            "history": {
                "runs": runs.iter().map(|run| Self::row_of(dir, run)).collect::<Vec<_>>(),
                "trends": Self::trends_of(runs),
            },
            "spans": spans,
        });
        Ok(Self {
            root: dir.to_path_buf(),
            snapshot: snapshot.to_string(),
        })
    }

    /// The directory `/files/` serves.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The page's one state.
    pub fn snapshot_json(&self) -> String {
        self.snapshot.clone()
    }

    /// The run's report as the verify view shows a finished run: its title, the board's
    /// final event, and the prefix of its files under DIR.
    fn suite_of(root: &Path, run_dir: &Path) -> Result<(String, Value, String)> {
        let report = report::read(&run_dir.join("report.json"))?;
        let title = format!(
            "run {} ({} scenarios, ledger {})",
            report.run.run_id, report.summary.scenarios, report.run.ledger
        );
        let board = SuiteBoard::new(title.clone(), None, run_dir.to_path_buf());
        for scenario in &report.scenarios {
            board.finished(scenario, None);
        }
        board.decided(&report.claims);
        board.reports_written();
        board.end();
        let mut event: Value = serde_json::from_str(&board.event_json()).unwrap_or_default();
        let took_s: f64 = report.scenarios.iter().map(|s| s.duration_ms).sum::<f64>() / 1e3;
        event["elapsed_s"] = json!(took_s);
        let prefix = match relative(root, run_dir) {
            text if text.is_empty() => String::new(),
            text => format!("{text}/"),
        };
        Ok((title, event, prefix))
    }

    fn row_of(root: &Path, run: &history::HistoryLine) -> RunRow {
        let count = |status: crate::claims::ClaimStatus| {
            run.claims.iter().filter(|c| c.status == status).count()
        };
        let page = root.join(&run.run_id).join("report.html");
        RunRow {
            run_id: run.run_id.clone(),
            started_unix_s: run.started_unix_s,
            passed: run.passed,
            verified: count(crate::claims::ClaimStatus::Verified),
            refuted: count(crate::claims::ClaimStatus::Refuted),
            report: page.is_file().then(|| relative(root, &page)),
        }
    }

    fn trends_of(runs: &[history::HistoryLine]) -> Vec<Trend> {
        let mut trends: Vec<Trend> = Vec::new();
        for run in runs {
            for claim in &run.claims {
                let index = match trends.iter().position(|t| t.id == claim.id) {
                    Some(index) => index,
                    None => {
                        trends.push(Trend {
                            id: claim.id.clone(),
                            unit: claim.unit.clone(),
                            points: Vec::new(),
                        });
                        trends.len() - 1
                    }
                };
                trends[index].points.push((
                    run.run_id.clone(),
                    claim.observed,
                    claim.status.as_str().to_owned(),
                ));
            }
        }
        trends
    }

    fn spans_of(root: &Path, path: &Path, scanner: &SecretScanner) -> Result<SpansPanel> {
        let ingested = crate::ingest::read_path(path)?;
        let skipped = ingested.report.skipped_total;
        let spans = ingested.spans;
        let panel = super::sampler::scrubbed(invariants::check(&spans, 1), scanner);
        let deploy = DeployPanel::from_spans(&spans);
        let count = spans.len();
        let evidence = crate::ingest::Ingested {
            spans,
            report: ingested.report,
        }
        .into_evidence();
        let ops = evidence
            .latencies
            .summaries()
            .into_iter()
            .map(|s| {
                let us = |ns: u64| ns as f64 / 1e3;
                (s.op.to_owned(), s.count, us(s.p50_ns), us(s.p99_ns))
            })
            .collect();
        Ok(SpansPanel {
            file: relative(root, path),
            spans: count,
            skipped,
            invariants: panel,
            deploy,
            ops,
        })
    }
}
