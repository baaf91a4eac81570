//! The report model of a verify run and its renderers: JSON (the complete model), Markdown
//! (for a PR comment), JUnit (for CI) and a self-contained HTML page; plus the run history.

/// Appending to and reading `history.jsonl`.
pub mod history;
/// The self-contained HTML page with inline SVG charts.
pub mod html;
/// JUnit XML: scenarios and claims as test cases.
pub mod junit;
/// Markdown for a pull-request comment.
pub mod markdown;
/// The serde model.
pub mod model;
/// The HTML scenario table with each scenario's verdicts under `<details>`.
pub mod scenarios_html;
/// What the HTML charts plot, computed from evidence.
pub mod series;
/// The HTML span timeline: labelled lanes, bars coloured by outcome, axis, tooltips.
pub mod timeline_html;
/// Durations in the unit that shows them (ns, µs, ms, s).
pub mod units;

pub use model::{
    Attempt, Machine, RunInfo, RunReport, ScenarioResult, ScenarioStatus, Summary, TimelineSpan,
};

use std::path::Path;

use crate::error::{Error, Result};

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|error| Error::Report {
        path: path.display().to_string(),
        problem: error.to_string(),
    })
}

/// Writes `report.json`, `report.md`, `junit.xml` and `report.html` into `dir`.
pub fn write_all(report: &RunReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| Error::Report {
        path: dir.display().to_string(),
        problem: error.to_string(),
    })?;
    let json = serde_json::to_string_pretty(report).map_err(|error| Error::Report {
        path: dir.join("report.json").display().to_string(),
        problem: error.to_string(),
    })?;
    write(&dir.join("report.json"), &json)?;
    write(&dir.join("report.md"), &markdown::render(report))?;
    write(&dir.join("junit.xml"), &junit::render(report))?;
    write(&dir.join("report.html"), &html::render(report))?;
    Ok(())
}

/// Reads a `report.json` written by `write_all`.
pub fn read(path: &Path) -> Result<RunReport> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Report {
        path: path.display().to_string(),
        problem: error.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|error| Error::Report {
        path: path.display().to_string(),
        problem: format!("not a swarmspec report: {error}"),
    })
}
