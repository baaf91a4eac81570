//! Checks feature files before they run, so bad input gets an answer a person can act on,
//! always as `file:line:column: cause`:
//!
//! - a syntax error names the line the mistake is on (the parser reports where it gave up,
//!   often the end of the line before), says what is wrong there (a misspelt keyword, a
//!   line no keyword starts), and the rest of the file is still checked, so one mistake
//!   does not hide the others;
//! - a file with no scenario says so, naming a misspelt `Scenario:` if it has one, instead
//!   of a run that silently executes nothing;
//! - a step no definition matches says why (`step_match`): a step of another keyword, a
//!   parameter its type refuses, or an unknown step with the closest known ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use cucumber::gherkin::{Feature, GherkinEnv, ParseFileError, Scenario, Step, StepType};

use super::catalogue::StepEntry;
use super::step_match::Matcher;
use crate::evidence::spelling::edit_distance as distance;

/// Syntax errors reported per file; past this the file is too broken to say more.
const SYNTAX_ERRORS_MAX: usize = 20;

/// Section keywords of English Gherkin, as written before the colon.
const SECTION_KEYWORDS: &[&str] = &[
    "Feature",
    "Background",
    "Scenario",
    "Scenario Outline",
    "Scenario Template",
    "Example",
    "Examples",
    "Scenarios",
    "Rule",
];

/// Step keywords of English Gherkin.
const STEP_KEYWORDS: &[&str] = &["Given", "When", "Then", "And", "But"];

/// One problem in one feature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

fn feature_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
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

/// A misspelt keyword at the start of `line`: (1-based column, what is written, the keyword
/// meant). A section keyword is recognised by its colon, a step keyword by the first word.
fn misspelt_keyword(line: &str) -> Option<(usize, String, &'static str)> {
    let column = line.len() - line.trim_start().len() + 1;
    let trimmed = line.trim();
    if let Some((head, _)) = trimmed.split_once(':') {
        let written = head.trim();
        let lower = written.to_lowercase();
        let exact = SECTION_KEYWORDS.iter().any(|k| k.to_lowercase() == lower);
        // "Rules:" or "Features:" in a description is prose, not a typo.
        let plural = SECTION_KEYWORDS
            .iter()
            .any(|k| format!("{}s", k.to_lowercase()) == lower);
        if !exact && !plural && written.chars().count() >= 4 {
            let meant = SECTION_KEYWORDS
                .iter()
                .find(|k| distance(&k.to_lowercase(), &lower) <= 2);
            if let Some(meant) = meant {
                return Some((column, format!("{written}:"), meant));
            }
        }
    }
    let word = trimmed.split_whitespace().next()?;
    if word.chars().count() < 3 || STEP_KEYWORDS.contains(&word) {
        return None;
    }
    let meant = STEP_KEYWORDS.iter().find(|k| distance(k, word) == 1)?;
    Some((column, word.to_owned(), meant))
}

/// The parser's "Error at LINE:COL: {expected}" as (line, expected).
fn error_position(text: &str) -> (usize, String) {
    let rest = text.strip_prefix("Error at ").unwrap_or(text);
    let (position, expected) = rest.split_once(": ").unwrap_or((rest, ""));
    let line = position
        .split(':')
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    (line, expected.to_owned())
}

/// The line the mistake is on. The parser reports where it gave up, which is often a line or
/// two past the mistake; its "Unknown keyword: 'the '" names the start of the bad line, so
/// that line is looked for backwards from there (then forwards). Without it, the last line
/// with text at or before the reported one.
fn offending_line(lines: &[&str], reported: usize, snippet: Option<&str>) -> usize {
    let last = lines.len().max(1);
    let reported = reported.clamp(1, last);
    let has_text = |n: usize| lines.get(n - 1).is_some_and(|l| !l.trim().is_empty());
    if let Some(snippet) = snippet.map(str::trim).filter(|s| !s.is_empty()) {
        let starts = |n: &usize| {
            lines
                .get(n - 1)
                .is_some_and(|l| l.trim().starts_with(snippet))
        };
        let before = (1..=reported).rev().find(starts);
        if let Some(line) = before.or_else(|| (reported..=last).find(starts)) {
            return line;
        }
    }
    (1..=reported)
        .rev()
        .find(|&n| has_text(n))
        .unwrap_or(reported)
}

/// Reads `text` as gherkin does for a file: only its file reader keeps the cause of a
/// syntax error ("Unknown keyword: 'the '"), which `Feature::parse` drops, so the text goes
/// through a private temporary file. `Err((parser error, cause))`.
fn parse_text(text: &str) -> Result<Feature, (String, Option<String>)> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "swarmspec-precheck-{}-{n}.feature",
        std::process::id()
    ));
    if std::fs::write(&path, text).is_err() {
        // No temporary file: the position alone will have to do.
        return Feature::parse(text, GherkinEnv::default()).map_err(|e| (e.to_string(), None));
    }
    let parsed = Feature::parse_path(&path, GherkinEnv::default());
    let _ = std::fs::remove_file(&path);
    parsed.map_err(|error| match error {
        ParseFileError::Parsing { error, source, .. } => {
            (source.to_string(), error.map(|e| e.to_string()))
        }
        ParseFileError::Reading { source, .. } => (format!("cannot read: {source}"), None),
    })
}

/// The quoted text of a cause like "Unknown keyword: 'the '.".
fn quoted(cause: &str) -> Option<&str> {
    let start = cause.find('\'')? + 1;
    let end = cause[start..].rfind('\'')? + start;
    Some(&cause[start..end])
}

/// The offending line of the parse error of `lines`, and the problem to report there.
fn syntax_problem(
    path: &Path,
    lines: &[&str],
    error: &str,
    cause: Option<&str>,
) -> (usize, Problem) {
    let (reported, expected) = error_position(error);
    let line = offending_line(lines, reported, cause.and_then(quoted));
    let text = lines.get(line - 1).copied().unwrap_or_default();
    let column = text.len() - text.trim_start().len() + 1;
    let message = match misspelt_keyword(text) {
        Some((_, written, meant)) => {
            format!("«{written}» is not a Gherkin keyword; did you mean «{meant}»?")
        }
        None if text.trim_start().starts_with('|') => {
            format!("«{}» is a table row that does not end with |", text.trim())
        }
        None if text.trim().is_empty() => {
            format!("the feature is incomplete: Gherkin expects one of {expected}")
        }
        None => format!(
            "«{}» is not valid Gherkin here: a step starts with Given, When, Then, And or \
             But, a table row with |, and free text may only follow a Feature, Rule, \
             Scenario or Examples line",
            text.trim()
        ),
    };
    (
        line,
        Problem {
            path: path.to_path_buf(),
            line,
            column,
            message,
        },
    )
}

/// Parses `text`, reporting each syntax error and blanking its line to find the next, so
/// the rest of the file is still checked; the feature as parsed without the bad lines.
fn parse_reporting(path: &Path, text: &str, problems: &mut Vec<Problem>) -> Option<Feature> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for reported in 0..SYNTAX_ERRORS_MAX {
        let (error, cause) = match parse_text(&lines.join("\n")) {
            Ok(feature) => return Some(feature),
            Err(failure) => failure,
        };
        let views: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (line, problem) = syntax_problem(path, &views, &error, cause.as_deref());
        let blank = lines.get(line - 1).is_none_or(|l| l.trim().is_empty());
        if blank && reported > 0 {
            // What is left after blanking a mistake is not a mistake of the writer's.
            return None;
        }
        problems.push(problem);
        if blank {
            return None;
        }
        lines[line - 1].clear();
    }
    None
}

fn keyword(ty: StepType) -> &'static str {
    match ty {
        StepType::Given => "Given",
        StepType::When => "When",
        StepType::Then => "Then",
    }
}

/// Every concrete step of a scenario: (step, text, line of the example row it came from).
/// An outline gives each distinct text of each examples row once.
fn concrete_steps(scenario: &Scenario) -> Vec<(&Step, String, Option<usize>)> {
    let mut found = Vec::new();
    let tables: Vec<_> = scenario
        .examples
        .iter()
        .filter_map(|e| e.table.as_ref())
        .collect();
    if tables.is_empty() {
        return scenario
            .steps
            .iter()
            .map(|s| (s, s.value.clone(), None))
            .collect();
    }
    let mut seen = HashSet::new();
    for table in tables {
        let Some((header, rows)) = table.rows.split_first() else {
            continue;
        };
        for (index, row) in rows.iter().enumerate() {
            let row_line = table.position.line + index + 1;
            for step in &scenario.steps {
                let mut text = step.value.clone();
                for (name, value) in header.iter().zip(row) {
                    text = text.replace(&format!("<{name}>"), value);
                }
                if seen.insert((step.position.line, text.clone())) {
                    found.push((step, text, Some(row_line)));
                }
            }
        }
    }
    found
}

/// A data table or doc string attached to a step whose definition never reads one: the
/// writer meant something by it, and cucumber would drop it without a word.
fn unread_attachment(step: &Step, text: &str, matcher: &Matcher) -> Option<String> {
    let what = match (&step.table, &step.docstring) {
        (Some(_), _) => "a data table",
        (None, Some(_)) => "a doc string",
        (None, None) => return None,
    };
    let definitions = matcher.definitions(keyword(step.ty), text);
    if definitions.is_empty() || definitions.iter().any(|e| e.takes_attachment) {
        return None;
    }
    Some(format!(
        "«{text}» takes no data table or doc string, but {what} is attached to it (it would \
         be ignored): remove it, or use a step that reads one"
    ))
}

fn step_problems(path: &Path, feature: &Feature, matcher: &Matcher, out: &mut Vec<Problem>) {
    let mut check = |step: &Step, text: &str, row: Option<usize>| {
        let cause = matcher
            .diagnose(keyword(step.ty), text)
            .or_else(|| unread_attachment(step, text, matcher));
        if let Some(cause) = cause {
            let row = row.map_or_else(String::new, |r| format!(" (examples row at line {r})"));
            out.push(Problem {
                path: path.to_path_buf(),
                line: step.position.line,
                column: step.position.col + step.keyword.len(),
                message: format!("{cause}{row}"),
            });
        }
    };
    let backgrounds = feature
        .background
        .iter()
        .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()));
    for step in backgrounds.flat_map(|b| &b.steps) {
        check(step, &step.value, None);
    }
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|rule| &rule.scenarios));
    for scenario in scenarios {
        for (step, text, row) in concrete_steps(scenario) {
            check(step, &text, row);
        }
    }
}

/// A feature with no scenario runs nothing: say so, naming a misspelt keyword if there is.
fn no_scenario_problem(path: &Path, text: &str, feature: &Feature) -> Option<Problem> {
    if !feature.scenarios.is_empty() || feature.rules.iter().any(|r| !r.scenarios.is_empty()) {
        return None;
    }
    let misspelt = text.lines().enumerate().find_map(|(index, line)| {
        misspelt_keyword(line).map(|(column, written, meant)| (index + 1, column, written, meant))
    });
    Some(match misspelt {
        Some((line, column, written, meant)) => Problem {
            path: path.to_path_buf(),
            line,
            column,
            message: format!(
                "«{written}» is not a Gherkin keyword; did you mean «{meant}»? (the \
                 feature has no scenario, so nothing in it runs)"
            ),
        },
        None => Problem {
            path: path.to_path_buf(),
            line: feature.position.line,
            column: feature.position.col,
            message: "the feature has no scenario, so nothing in it runs".into(),
        },
    })
}

/// Problems in one feature file's text, judged against `entries`.
pub fn check_source(path: &Path, text: &str, entries: &[StepEntry]) -> Vec<Problem> {
    check_with(path, text, &Matcher::new(entries))
}

/// `check_source` with a matcher built once (building one compiles every step's pattern):
/// for callers checking many texts, as the fuzz target does.
pub fn check_with(path: &Path, text: &str, matcher: &Matcher) -> Vec<Problem> {
    let mut problems = Vec::new();
    if text.trim().is_empty() {
        problems.push(Problem {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "the file is empty: a feature file starts with «Feature:»".into(),
        });
        return problems;
    }
    let Some(feature) = parse_reporting(path, text, &mut problems) else {
        return problems;
    };
    problems.extend(no_scenario_problem(path, text, &feature));
    step_problems(path, &feature, matcher, &mut problems);
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// Problems in the feature files under `dir` (or the file `dir`), judged against `entries`.
pub fn check(dir: &Path, entries: &[StepEntry]) -> Vec<Problem> {
    let matcher = Matcher::new(entries);
    let mut problems = Vec::new();
    for path in feature_files(dir) {
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => problems.extend(check_with(&path, &text, &matcher)),
                Err(error) => problems.push(Problem {
                    path: path.clone(),
                    line: 0,
                    column: 0,
                    message: format!("not UTF-8 text: {error}"),
                }),
            },
            Err(error) => problems.push(Problem {
                path: path.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read: {error}"),
            }),
        }
    }
    problems
}

/// The first step of `scenario` no definition matches, as a problem (for a scenario the
/// runner saw skipped, which cucumber reports without saying which step or why).
pub fn first_undefined(path: &Path, scenario: &Scenario, entries: &[StepEntry]) -> Option<Problem> {
    let matcher = Matcher::new(entries);
    scenario.steps.iter().find_map(|step| {
        let cause = matcher.diagnose(keyword(step.ty), &step.value)?;
        Some(Problem {
            path: path.to_path_buf(),
            line: step.position.line,
            column: step.position.col + step.keyword.len(),
            message: cause,
        })
    })
}
