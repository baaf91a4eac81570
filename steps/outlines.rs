//! The suite's feature parser: cucumber's, but with Scenario Outlines expanded in time and
//! memory linear in their rows.
//!
//! cucumber's own expansion (`feature::Ext::expand_examples`) clones the whole outline,
//! every Examples table included, once per row: 4 000 rows cost 25 s and 422 MB, 20 000 did
//! not finish in 120 s. Splitting each outline first into one outline per row, each with a
//! one-row table, leaves cucumber only one-row tables to clone. The split outline's table
//! is placed `row` lines lower so that cucumber numbers each expanded scenario with the line
//! it would have had (its line identifies the scenario in hashes and reports).
//!
//! cucumber's JSON writer then finds each scenario's entry by a linear search of its
//! feature's entries (formatting a name per comparison), which is quadratic again in the
//! scenarios of one feature: 4 000 rows still took 6 s, while the same scenarios spread over
//! 200 files take well under that. So a feature with more than `FEATURE_SCENARIOS_MAX`
//! scenarios is handed to cucumber as several features of at most that many, the second
//! and later named "NAME (part K of N)" (the writer tells features apart by file and name):
//! reports list the feature once per part, every scenario with its own name and line.

use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::{Examples, Feature, GherkinEnv, Scenario, Table};
use futures::stream;

/// Scenarios handed to cucumber per feature: past this its JSON writer's linear searches
/// cost more than the scenarios themselves.
pub const FEATURE_SCENARIOS_MAX: usize = 200;

/// Parses every `.feature` file under a directory (or one file), sorted by path.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearOutlines;

fn feature_files(root: &Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("feature"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// One outline per examples row, each with a one-row table placed so that the row keeps its
/// line; a scenario without examples is kept as it is.
fn split(scenario: Scenario) -> Vec<Scenario> {
    if scenario.examples.is_empty() {
        return vec![scenario];
    }
    let mut template = scenario;
    let examples = std::mem::take(&mut template.examples);
    let mut out = Vec::new();
    for mut example in examples {
        let Some(table) = example.table.take() else {
            continue;
        };
        let mut rows = table.rows.into_iter();
        let Some(header) = rows.next() else {
            continue;
        };
        for (index, row) in rows.enumerate() {
            let mut one = template.clone();
            let mut position = example.position;
            position.line += index;
            one.examples = vec![Examples {
                table: Some(Table {
                    rows: vec![header.clone(), row],
                    span: table.span,
                    position: table.position,
                }),
                position,
                ..example.clone()
            }];
            out.push(one);
        }
    }
    out
}

fn split_all(mut feature: Feature) -> Feature {
    feature.scenarios = std::mem::take(&mut feature.scenarios)
        .into_iter()
        .flat_map(split)
        .collect();
    for rule in &mut feature.rules {
        rule.scenarios = std::mem::take(&mut rule.scenarios)
            .into_iter()
            .flat_map(split)
            .collect();
    }
    feature
}

/// The feature as parts of at most `FEATURE_SCENARIOS_MAX` scenarios (rules in the first).
fn parts(mut feature: Feature) -> Vec<Feature> {
    if feature.scenarios.len() <= FEATURE_SCENARIOS_MAX {
        return vec![feature];
    }
    let scenarios = std::mem::take(&mut feature.scenarios);
    let rules = std::mem::take(&mut feature.rules);
    let mut out: Vec<Feature> = Vec::new();
    let mut scenarios = scenarios.into_iter().peekable();
    while scenarios.peek().is_some() {
        let mut part = feature.clone();
        part.scenarios = scenarios.by_ref().take(FEATURE_SCENARIOS_MAX).collect();
        out.push(part);
    }
    let count = out.len();
    for (index, part) in out.iter_mut().enumerate().skip(1) {
        part.name = format!("{} (part {} of {count})", part.name, index + 1);
    }
    if let Some(first) = out.first_mut() {
        first.rules = rules;
    }
    out
}

fn parse_file(path: &Path) -> Vec<cucumber::parser::Result<Feature>> {
    let feature = match Feature::parse_path(path, GherkinEnv::default()) {
        Ok(feature) => feature,
        Err(error) => return vec![Err(error.into())],
    };
    match split_all(feature).expand_examples() {
        Ok(feature) => parts(feature).into_iter().map(Ok).collect(),
        Err(error) => vec![Err(error.into())],
    }
}

impl<I: AsRef<Path>> cucumber::Parser<I> for LinearOutlines {
    type Cli = cucumber::cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<cucumber::parser::Result<Feature>>>;

    fn parse(self, input: I, _cli: Self::Cli) -> Self::Output {
        let root = input.as_ref();
        // Canonical paths, as cucumber's parser gives, so reports name files the same way.
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let features: Vec<_> = feature_files(&root)
            .iter()
            .flat_map(|path| parse_file(path))
            .collect();
        stream::iter(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the split expansion gives the scenarios cucumber's own does, with the same
    // names, lines, steps and example rows.
    #[test]
    fn same_scenarios_as_cucumber() {
        let text = "Feature: f\n  Scenario Outline: row <n>\n    Given <n> work items\n\n    @tagged\n    Examples: first\n      | n |\n      | 1 |\n      | 2 |\n\n    Examples: second\n      | n |\n      | 3 |\n\n  Scenario: plain\n    Given 5 work items\n";
        let feature = Feature::parse(text, GherkinEnv::default()).expect("valid");
        let theirs = feature.clone().expand_examples().expect("expands");
        let ours = split_all(feature).expand_examples().expect("expands");
        let view = |f: &Feature| -> Vec<String> {
            f.scenarios
                .iter()
                .map(|s| {
                    let row = s.examples.first().and_then(|e| e.table.as_ref());
                    format!(
                        "{} @{} {:?} {:?} {:?}",
                        s.name,
                        s.position.line,
                        s.tags,
                        s.steps.iter().map(|st| &st.value).collect::<Vec<_>>(),
                        row.map(|t| &t.rows)
                    )
                })
                .collect()
        };
        assert_eq!(view(&ours), view(&theirs));
        assert_eq!(ours.scenarios.len(), 4);
    }

    // Proves a large feature is handed over in parts that keep every scenario, in order.
    #[test]
    fn large_features_in_parts() {
        let mut text = String::from("Feature: f\n  Scenario Outline: row <n>\n    Given <n> work items\n\n    Examples:\n      | n |\n");
        for n in 0..450 {
            text.push_str(&format!("      | {n} |\n"));
        }
        let feature = Feature::parse(&text, GherkinEnv::default()).expect("valid");
        let expanded = split_all(feature).expand_examples().expect("expands");
        let parts = parts(expanded);
        let sizes: Vec<usize> = parts.iter().map(|p| p.scenarios.len()).collect();
        assert_eq!(sizes, [200, 200, 50]);
        assert_eq!(parts[2].scenarios[49].name, "row 449");
        assert_eq!(parts[0].name, "f");
        assert_eq!(parts[2].name, "f (part 3 of 3)");
    }
}
