//! The step catalogue, read from the step sources themselves: every `#[given]`, `#[when]`
//! and `#[then]` pattern with the doc line above it and an example taken from the features.
//! Being derived from the sources, it cannot fall out of step with them; `docs/steps.md` is
//! generated from it, and a test fails when the committed page is stale.

use std::fmt::Write as _;

use include_dir::{include_dir, Dir};
use regex::Regex;

use super::parameters;

/// The step sources, by domain (the file they live in).
const SOURCES: &[(&str, &str)] = &[
    ("coordination", include_str!("coordination.rs")),
    ("resilience", include_str!("resilience.rs")),
    ("reactions", include_str!("reactions.rs")),
    ("telemetry", include_str!("telemetry.rs")),
    ("deployment", include_str!("deployment.rs")),
    ("compliance", include_str!("compliance.rs")),
    ("ingestion", include_str!("ingestion.rs")),
    ("processes", include_str!("processes.rs")),
    ("real_systems", include_str!("real_systems.rs")),
    ("memory", include_str!("memory.rs")),
    ("systems", include_str!("systems.rs")),
    ("database", include_str!("database.rs")),
];

/// The shipped features, where examples come from.
pub static FEATURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/features");

/// One step definition.
#[derive(Debug, Clone)]
pub struct StepEntry {
    /// `Given`, `When` or `Then`.
    pub keyword: &'static str,
    /// The pattern as written in the source.
    pub pattern: String,
    /// The full-match regex the pattern stands for.
    pub regex: Regex,
    /// The doc line above it (or the function name in words when it has none).
    pub doc: String,
    /// The steps file it lives in.
    pub domain: &'static str,
    /// A line from the shipped features that uses it.
    pub example: Option<String>,
    /// Whether the step reads the data table or doc string attached to it (its function
    /// takes the `&Step`); one attached to any other step is an error, not ignored.
    pub takes_attachment: bool,
}

/// Extracts the string literal at the start of `text` (`"…"`, `r"…"`, `r#"…"#`).
fn literal(text: &str) -> Option<String> {
    let text = text.trim_start();
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.chars().take_while(|&c| c == '#').count();
        let body = &raw[hashes..];
        let close = format!("\"{}", "#".repeat(hashes));
        let body = body.strip_prefix('"')?;
        return Some(body[..body.find(&close)?].to_owned());
    }
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

fn to_regex(kind: &str, pattern: &str) -> Option<Regex> {
    match kind {
        "regex" => Regex::new(pattern).ok(),
        "expr" => {
            cucumber_expressions::Expression::regex_with_parameters(pattern, &parameters::regexes())
                .ok()
        }
        _ => Regex::new(&format!("^{}$", regex::escape(pattern))).ok(),
    }
}

fn entries_of(domain: &'static str, source: &str) -> Vec<StepEntry> {
    let lines: Vec<&str> = source.lines().collect();
    let mut entries = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        // `#[cucumber::then(…)]` is the same attribute as `#[then(…)]` after a `use`.
        let trimmed = trimmed
            .strip_prefix("#[cucumber::")
            .map_or(trimmed.to_owned(), |rest| format!("#[{rest}"));
        let Some(keyword) = [
            ("#[given(", "Given"),
            ("#[when(", "When"),
            ("#[then(", "Then"),
        ]
        .iter()
        .find(|(start, _)| trimmed.starts_with(start))
        .map(|(_, keyword)| *keyword) else {
            continue;
        };
        // The attribute may run over several lines, up to the line that ends it.
        let mut attribute = String::new();
        for part in &lines[index..] {
            attribute.push_str(part.trim());
            attribute.push(' ');
            if part.trim_end().ends_with(")]") {
                break;
            }
        }
        let inside = &attribute[attribute.find('(').map_or(0, |i| i + 1)..];
        let (kind, rest) = match inside.trim_start() {
            t if t.starts_with("expr") => ("expr", &t[t.find('=').map_or(0, |i| i + 1)..]),
            t if t.starts_with("regex") => ("regex", &t[t.find('=').map_or(0, |i| i + 1)..]),
            t => ("literal", t),
        };
        let (Some(pattern), true) = (literal(rest), true) else {
            continue;
        };
        let Some(regex) = to_regex(kind, &pattern) else {
            continue;
        };
        let doc = lines[..index]
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with("///"))
            .map(|l| l.trim_start().trim_start_matches("///").trim())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" ");
        // The signature runs from the attribute to the line that opens the body.
        let signature: String = lines[index..]
            .iter()
            .take_while(|l| !l.trim_end().ends_with('{'))
            .chain(lines[index..].iter().find(|l| l.trim_end().ends_with('{')))
            .copied()
            .collect();
        let takes_attachment = signature.contains("&Step");
        let doc = if doc.is_empty() {
            fn_name_in_words(&lines[index..])
        } else {
            doc
        };
        entries.push(StepEntry {
            keyword,
            pattern,
            regex,
            doc,
            domain,
            example: None,
            takes_attachment,
        });
    }
    entries
}

fn fn_name_in_words(lines: &[&str]) -> String {
    lines
        .iter()
        .find_map(|l| {
            l.trim_start()
                .trim_start_matches("async ")
                .strip_prefix("fn ")
        })
        .and_then(|rest| rest.split('(').next())
        .map(|name| name.replace('_', " "))
        .unwrap_or_default()
}

/// Step lines of the shipped features, without their keyword (outline lines with
/// placeholders are left out: they are not concrete steps).
fn feature_steps() -> Vec<String> {
    let keywords = ["Given ", "When ", "Then ", "And ", "But "];
    let mut steps = Vec::new();
    for file in FEATURES.files() {
        let Some(text) = file.contents_utf8() else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            if let Some(step) = keywords.iter().find_map(|k| line.strip_prefix(k)) {
                if !step.contains('<') {
                    steps.push(step.to_owned());
                }
            }
        }
    }
    steps.sort();
    steps
}

/// Every step definition, grouped by domain in source order, each with an example.
pub fn catalogue() -> Vec<StepEntry> {
    catalogue_with(&[])
}

/// The catalogue plus the steps defined in `extra` sources (a crate's own step files,
/// `(domain, include_str!("steps.rs"))`), so the pre-run check knows them too.
pub fn catalogue_with(extra: &[(&'static str, &'static str)]) -> Vec<StepEntry> {
    let steps = feature_steps();
    let mut entries: Vec<StepEntry> = SOURCES
        .iter()
        .chain(extra)
        .flat_map(|(domain, source)| entries_of(domain, source))
        .collect();
    for entry in &mut entries {
        entry.example = steps.iter().find(|s| entry.regex.is_match(s)).cloned();
    }
    entries
}

/// Word-level edit distance, for suggesting the closest known steps.
fn word_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, word) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, other) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(word != other);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The `count` known steps closest to `text`, as they would be written.
pub fn closest<'a>(entries: &'a [StepEntry], text: &str, count: usize) -> Vec<&'a StepEntry> {
    let mut ranked: Vec<(usize, &StepEntry)> = entries
        .iter()
        .map(|e| {
            (
                word_distance(text, e.example.as_deref().unwrap_or(&e.pattern)),
                e,
            )
        })
        .collect();
    ranked.sort_by_key(|(distance, _)| *distance);
    ranked.into_iter().take(count).map(|(_, e)| e).collect()
}

/// The catalogue as Markdown (what `docs/steps.md` holds).
pub fn markdown(entries: &[StepEntry]) -> String {
    let mut out = String::from(
        "# Step catalogue\n\nGenerated by `swarmspec steps --markdown` from the step sources; do not edit by hand\n(a test fails when this page is out of date). Each step: its pattern, what it does, and a\nline from the shipped features that uses it.\n",
    );
    out.push_str("\n## Parameter types\n\nBeside cucumber's `{int}`, `{float}`, `{word}` and `{string}`:\n\n");
    for (name, _, what) in super::parameters::CUSTOM {
        let _ = writeln!(out, "- `{{{name}}}`: {what}");
    }
    out.push_str(
        "\nA data table or doc string attached to a step that does not read one is an error at\n\
         its file:line. Steps about a swarm run need `When the swarm runs` first; a split run\n\
         (`… split across N processes`) needs `throughput mode`; steps naming a capability the\n\
         system under test lacks (handoff, reaping, …) make the scenario not applicable.\n\n",
    );
    out.push_str(&crate::evidence::lexicon::markdown(
        &crate::evidence::lexicon::lexicon(),
    ));
    let mut domain = "";
    for entry in entries {
        if entry.domain != domain {
            domain = entry.domain;
            let _ = write!(out, "\n## {domain}\n\n");
        }
        let _ = writeln!(out, "- **{}** `{}`  ", entry.keyword, entry.pattern);
        let _ = writeln!(out, "  {}  ", entry.doc);
        match &entry.example {
            Some(example) => {
                let _ = writeln!(out, "  e.g. `{} {example}`", entry.keyword);
            }
            None => {
                let _ = writeln!(out, "  (not used by the shipped features)");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves raw and escaped literals are read as the compiler would.
    #[test]
    fn literals_unescape() {
        assert_eq!(literal(r#""a \"b\" c" )]"#).as_deref(), Some("a \"b\" c"));
        assert_eq!(
            literal(r###"r#"x "y" z"#)]"###).as_deref(),
            Some("x \"y\" z")
        );
    }
}
