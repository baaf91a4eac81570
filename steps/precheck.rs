//! Checks feature files before they run, so bad input gets an answer a person can act on:
//! a syntax error names the file, line and column and what the parser expected; a step no
//! definition matches names its file and line and the closest known steps.

use std::path::{Path, PathBuf};

use cucumber::gherkin::{Feature, GherkinEnv, ParseFileError, Step};

use super::catalogue::{self, StepEntry};

/// Suggestions listed for an unknown step.
const SUGGESTIONS_MAX: usize = 3;

/// One problem in one feature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

fn feature_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "feature") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn parse_problem(path: &Path, error: &ParseFileError) -> Problem {
    let detail = match error {
        ParseFileError::Reading { source, .. } => format!("cannot read: {source}"),
        ParseFileError::Parsing { source, error, .. } => {
            // The parser says "Error at LINE:COL: {expected tokens}".
            let text = source.to_string();
            let position = text
                .strip_prefix("Error at ")
                .and_then(|rest| rest.split_once(':'));
            let line = position
                .and_then(|(line, _)| line.parse::<usize>().ok())
                .unwrap_or(0);
            let expected = text.split_once(": ").map_or(text.as_str(), |(_, e)| e);
            let env = error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            return Problem {
                path: path.to_path_buf(),
                line,
                message: format!("not valid Gherkin{env}: expected one of {expected}"),
            };
        }
    };
    Problem {
        path: path.to_path_buf(),
        line: 0,
        message: detail,
    }
}

/// Every concrete step text of a feature with its line; outline steps get the first
/// example row's values, since that is what will run.
fn steps_of(feature: &Feature) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut add = |steps: &[Step], examples: Option<&cucumber::gherkin::Examples>| {
        for step in steps {
            let mut text = step.value.clone();
            if let Some(table) = examples.and_then(|e| e.table.as_ref()) {
                if let (Some(header), Some(row)) = (table.rows.first(), table.rows.get(1)) {
                    for (name, value) in header.iter().zip(row) {
                        text = text.replace(&format!("<{name}>"), value);
                    }
                }
            }
            found.push((step.position.line, text));
        }
    };
    if let Some(background) = &feature.background {
        add(&background.steps, None);
    }
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|rule| &rule.scenarios));
    for scenario in scenarios {
        add(&scenario.steps, scenario.examples.first());
    }
    found
}

/// Problems in the feature files under `dir`, judged against `entries`.
pub fn check(dir: &Path, entries: &[StepEntry]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for path in feature_files(dir) {
        let feature = match Feature::parse_path(&path, GherkinEnv::default()) {
            Ok(feature) => feature,
            Err(error) => {
                problems.push(parse_problem(&path, &error));
                continue;
            }
        };
        for (line, text) in steps_of(&feature) {
            if entries.iter().any(|entry| entry.regex.is_match(&text)) {
                continue;
            }
            let suggestions: Vec<String> = catalogue::closest(entries, &text, SUGGESTIONS_MAX)
                .into_iter()
                .map(|e| format!("«{}»", e.example.as_deref().unwrap_or(&e.pattern)))
                .collect();
            problems.push(Problem {
                path: path.clone(),
                line,
                message: format!(
                    "unknown step «{text}»; closest known steps: {}",
                    suggestions.join(", ")
                ),
            });
        }
    }
    problems
}
