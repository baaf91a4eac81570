//! The `--mapping FILE` of `spans check`: a small TOML file that says how another tool's
//! spans map onto swarmspec's names.
//!
//! ```toml
//! [span_names]
//! "s2s.work.claim" = "work.claim"
//! [attributes]
//! "s2s.work_item_id" = "work.item_id"
//! [status]            # values: ok, error, unset
//! success = "ok"
//! "2" = "error"       # a status code, bare or as {"code": 2}
//! [outcomes]          # work.outcome values
//! acquired = "claimed"
//! ```
//!
//! A mistake is reported at its line (`file:line: problem`), as the adapter configs are:
//! a mapping that silently did nothing would make a check not applicable, or judge the
//! wrong spans, with no word of why.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::mapping::{Mapping, StatusClass};
use crate::error::{Error, Result};

type Table = BTreeMap<Spanned<String>, Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    span_names: Table,
    #[serde(default)]
    attributes: Table,
    #[serde(default)]
    status: Table,
    #[serde(default)]
    outcomes: Table,
}

/// 1-based line of byte `offset` in `text` (the end when the offset is past it).
fn line_of(text: &str, offset: usize) -> usize {
    let head = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    head.iter().filter(|&&b| b == b'\n').count() + 1
}

fn plain(table: Table) -> BTreeMap<String, String> {
    table
        .into_iter()
        .map(|(k, v)| (k.into_inner(), v.into_inner()))
        .collect()
}

/// Parses mapping `text`; `path` names it in errors. `guess` is whether to guess what the
/// file does not say.
pub fn parse(text: &str, path: &Path, guess: bool) -> Result<Mapping> {
    let fail = |offset: usize, problem: String| Error::SpanMapping {
        path: path.to_path_buf(),
        line: line_of(text, offset),
        problem,
    };
    let raw: RawMapping = toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        fail(offset, error.message().to_owned())
    })?;
    for table in [&raw.span_names, &raw.attributes, &raw.outcomes] {
        if let Some((key, _)) = table
            .iter()
            .find(|(k, v)| k.get_ref().is_empty() || v.get_ref().is_empty())
        {
            return Err(fail(
                key.span().start,
                "a mapping entry has an empty name".into(),
            ));
        }
    }
    let mut status = BTreeMap::new();
    for (from, to) in raw.status {
        let class = match to.get_ref().as_str() {
            "ok" => StatusClass::Ok,
            "error" => StatusClass::Error,
            "unset" => StatusClass::Unset,
            other => {
                return Err(fail(
                    to.span().start,
                    format!(
                        "status «{}» maps to «{other}»: a status maps to ok, error or unset",
                        from.get_ref()
                    ),
                ))
            }
        };
        status.insert(from.into_inner().trim().to_ascii_lowercase(), class);
    }
    Ok(Mapping {
        span_names: plain(raw.span_names),
        attributes: plain(raw.attributes),
        status,
        outcomes: plain(raw.outcomes),
        guess,
        file: Some(path.to_path_buf()),
    })
}

/// Reads and parses the mapping file at `path`.
pub fn load(path: &Path, guess: bool) -> Result<Mapping> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::SpanMapping {
        path: path.to_path_buf(),
        line: 0,
        problem: format!("cannot read the mapping file: {error}"),
    })?;
    parse(&text, path, guess)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Mapping> {
        parse(text, Path::new("m.toml"), true)
    }

    // Proves every section lands in the mapping, statuses compared lowercased.
    #[test]
    fn reads_every_section() {
        let mapping = parsed(
            "[span_names]\n\"s2s.work.claim\" = \"work.claim\"\n[attributes]\nwho = \"agent.id\"\n\
             [status]\nSuccess = \"ok\"\n[outcomes]\nwon = \"claimed\"\n",
        )
        .expect("valid mapping");
        assert_eq!(mapping.span_names["s2s.work.claim"], "work.claim");
        assert_eq!(mapping.attributes["who"], "agent.id");
        assert_eq!(mapping.status["success"], StatusClass::Ok);
        assert_eq!(mapping.outcomes["won"], "claimed");
    }

    // Proves mistakes are reported at their line: an unknown section, a status that is not
    // ok/error/unset, a value that is not text, broken TOML.
    #[test]
    fn mistakes_named_by_line() {
        let line = |text: &str| match parsed(text) {
            Err(Error::SpanMapping { line, problem, .. }) => (line, problem),
            other => panic!("expected a mapping error, got {other:?}"),
        };
        let (at, problem) = line("[span_names]\na = \"work.claim\"\n\n[spans]\nb = \"c\"\n");
        assert_eq!(at, 4, "{problem}");
        assert!(problem.contains("spans"), "{problem}");
        let (at, problem) = line("[status]\nfine = \"ok\"\nbad = \"broken\"\n");
        assert_eq!(at, 3);
        assert!(problem.contains("ok, error or unset"), "{problem}");
        assert_eq!(line("[attributes]\nx = 3\n").0, 2);
        assert_eq!(line("[attributes\n").0, 1);
        assert_eq!(line("[attributes]\n\"\" = \"agent.id\"\n").0, 2);
    }
}
