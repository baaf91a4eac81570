//! `history.jsonl`: one line per verify run with each claim's observation, so trends and
//! baselines can be read without keeping every report.

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::RunReport;
use crate::claims::ClaimResult;
use crate::error::{Error, Result};

/// One run, as history keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistoryLine {
    /// Run id (its report directory name).
    pub run_id: String,
    /// Start, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// Whether the run passed.
    pub passed: bool,
    /// Each claim's result.
    pub claims: Vec<ClaimResult>,
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::Report {
        path: path.display().to_string(),
        problem: error.to_string(),
    }
}

/// Appends `report` to the history file at `path`.
pub fn append(path: &Path, report: &RunReport) -> Result<()> {
    let line = HistoryLine {
        run_id: report.run.run_id.clone(),
        started_unix_s: report.run.started_unix_s,
        passed: report.passed(false),
        claims: report.claims.clone(),
    };
    let json = serde_json::to_string(&line).map_err(|e| io_error(path, e))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    writeln!(file, "{json}").map_err(|e| io_error(path, e))
}

/// Every run in the history file, oldest first; a malformed line is an error naming it.
pub fn read(path: &Path) -> Result<Vec<HistoryLine>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(path, error)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| io_error(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}
