//! `history.jsonl`: one line per verify run with each claim's observation, so trends and
//! baselines can be read without keeping every report.

use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use fs4::fs_std::FileExt;
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

/// A line `read` could not use, and why: it is skipped, not fatal, so one torn append or
/// stray edit cannot hide every run after it (nor break `--baseline latest` for good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: usize,
    /// Why it is not a run.
    pub problem: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// The history file as read: its runs, and the lines that were not runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Runs, oldest first.
    pub runs: Vec<HistoryLine>,
    /// Torn or garbage lines, in file order.
    pub skipped: Vec<SkippedLine>,
}

/// Appends `report` to the history file at `path`, as one line that starts on a line of
/// its own even when the file ends in a torn line (a killed writer's), and in one write
/// under an exclusive lock, so concurrent appenders cannot interleave.
pub fn append(path: &Path, report: &RunReport) -> Result<()> {
    let line = HistoryLine {
        run_id: report.run.run_id.clone(),
        started_unix_s: report.run.started_unix_s,
        passed: report.passed(false),
        claims: report.claims.clone(),
    };
    let json = serde_json::to_vec(&line).map_err(|e| io_error(path, e))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    FileExt::lock_exclusive(&file).map_err(|e| io_error(path, e))?;
    let mut record = Vec::with_capacity(json.len() + 2);
    if ends_unterminated(&mut file).map_err(|e| io_error(path, e))? {
        record.push(b'\n');
    }
    record.extend_from_slice(&json);
    record.push(b'\n');
    let written = file.write_all(&record).map_err(|e| io_error(path, e));
    // Closing the file releases the lock too; unlocking first only makes it prompt.
    let _ = FileExt::unlock(&file);
    written
}

/// Whether `file` is non-empty and its last byte is not a newline.
fn ends_unterminated(file: &mut std::fs::File) -> std::io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0_u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// Every run in the history file, oldest first (none if there is no file yet). A line that
/// is not UTF-8 or not a run is skipped and listed with its number; only a file that cannot
/// be read is an error.
pub fn read(path: &Path) -> Result<History> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
        Err(error) => return Err(io_error(path, error)),
    };
    let mut history = History::default();
    for (index, bytes) in BufReader::new(file).split(b'\n').enumerate() {
        let bytes = bytes.map_err(|e| io_error(path, e))?;
        let skip = |problem: String| SkippedLine {
            line: index + 1,
            problem,
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            history.skipped.push(skip("not UTF-8 text".into()));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(text) {
            Ok(run) => history.runs.push(run),
            Err(error) => history
                .skipped
                .push(skip(format!("not a run record: {error}"))),
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Machine, RunInfo, Summary};

    fn report(run_id: &str) -> RunReport {
        RunReport {
            run: RunInfo {
                run_id: run_id.into(),
                started_unix_s: 1,
                seed_override: None,
                tags: None,
                ledger: "claims.toml".into(),
                features: "features".into(),
                machine: Machine::current(),
            },
            summary: Summary::default(),
            claims: Vec::new(),
            mutants: None,
            scenarios: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The run ids read back, and the numbers of the lines skipped.
    fn read_back(path: &Path) -> (Vec<String>, Vec<usize>) {
        let history = read(path).unwrap_or_else(|e| panic!("{e}"));
        let ids = history.runs.into_iter().map(|line| line.run_id).collect();
        (ids, history.skipped.iter().map(|s| s.line).collect())
    }

    // Proves an append after a torn last line starts on a fresh line, so the new record
    // survives whole and only the torn one is lost.
    #[test]
    fn append_after_a_torn_line_starts_a_fresh_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.jsonl");
        append(&path, &report("first")).expect("append");
        let mut torn = std::fs::read(&path).expect("read");
        torn.extend_from_slice(br#"{"run_id":"torn","started_un"#);
        std::fs::write(&path, torn).expect("write");
        append(&path, &report("after")).expect("append");
        assert_eq!(
            read_back(&path),
            (vec!["first".into(), "after".into()], vec![2])
        );
    }

    // Proves a garbage line in the middle does not hide the runs around it.
    #[test]
    fn garbage_lines_are_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.jsonl");
        append(&path, &report("one")).expect("append");
        let mut text = std::fs::read(&path).expect("read");
        text.extend_from_slice(b"\xff\xfe not json\n{\"run_id\": 7}\n");
        std::fs::write(&path, text).expect("write");
        append(&path, &report("two")).expect("append");
        assert_eq!(
            read_back(&path),
            (vec!["one".into(), "two".into()], vec![2, 3])
        );
    }
}
