//! Another tool's naming mapped onto swarmspec's vocabulary, so the checks that look for
//! `work.claim` spans with `work.item_id` find them in a file that says `s2s.work.claim` and
//! `s2s.work_item_id`.
//!
//! Without a mapping, a check on such a file has no subject and says nothing true; with a
//! wrong one it judges the wrong spans. So every mapping applied is reported, whether it came
//! from the mapping file (`mapping_file`) or was guessed: a name that ends, after a `.` or
//! `_`, with exactly one name swarmspec knows maps to it; status texts that are common words
//! for ok or error (`success`, `failed`) and OTLP status codes (`{"code": 2}`) map to those.
//! An explicit entry always wins over a guess, and guessing can be turned off.
//!
//! Span names, attribute keys and outcome values are mapped on the spans read. Status values
//! are mapped while reading (`mapping_status`), because the reader refuses
//! a span whose status it cannot read, and a refused span is evidence lost.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::evidence::vocabulary::{ATTRIBUTE_KEYS, SPAN_NAMES};
use crate::telemetry::{AttrValue, SpanRecord};

/// What a status value means to swarmspec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusClass {
    /// Succeeded.
    Ok,
    /// Failed: the error check judges it.
    Error,
    /// Said nothing.
    Unset,
}

impl StatusClass {
    /// The span-log text the reader takes.
    pub fn text(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Unset => "unset",
        }
    }
}

/// What a mapping entry renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mapped {
    /// A span name.
    SpanName,
    /// An attribute key.
    Attribute,
    /// A status value.
    Status,
    /// A `work.outcome` value.
    Outcome,
}

/// Where a mapping applied came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// An entry of the `--mapping` file.
    MappingFile,
    /// Guessed: the name ends with a known name after a separator.
    Suffix,
    /// Guessed: a common word for a status.
    CommonStatus,
    /// Guessed: an OTLP status code (0 unset, 1 ok, 2 error).
    OtlpCode,
}

/// One mapping applied, with how many spans (or fragments, for statuses) it touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// What was renamed.
    pub what: Mapped,
    /// The other tool's name or value.
    pub from: String,
    /// swarmspec's.
    pub to: String,
    /// Where the mapping came from.
    pub how: How,
    /// How many times it applied.
    pub count: usize,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.what {
            Mapped::SpanName => "",
            Mapped::Attribute => "attribute ",
            Mapped::Status => "status ",
            Mapped::Outcome => "outcome ",
        };
        let how = match self.how {
            How::MappingFile => "by the mapping file",
            How::Suffix => "by suffix",
            How::CommonStatus => "as a common status word",
            How::OtlpCode => "as an OTLP status code",
        };
        let unit = match (self.what, self.count) {
            (Mapped::Status, 1) => "record",
            (Mapped::Status, _) => "records",
            (_, 1) => "span",
            _ => "spans",
        };
        write!(
            f,
            "mapped {what}{} → {} {how} ({} {unit})",
            self.from, self.to, self.count
        )
    }
}

/// The mappings a read applied, and names it could have guessed but did not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MapReport {
    /// The mapping file, if one was given.
    pub file: Option<PathBuf>,
    /// Whether names and statuses were guessed.
    pub guessing: bool,
    /// Every mapping applied, in the order (what, from).
    pub applied: Vec<Applied>,
    /// Names left alone because more than one known name fits them.
    pub ambiguous: Vec<String>,
}

/// How another tool's spans are read: explicit entries (from a mapping file) and whether to
/// guess the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    /// Span name → swarmspec span name.
    pub span_names: BTreeMap<String, String>,
    /// Attribute key → swarmspec attribute key.
    pub attributes: BTreeMap<String, String>,
    /// Status text (compared lowercased) → what it means.
    pub status: BTreeMap<String, StatusClass>,
    /// `work.outcome` value → swarmspec outcome (`claimed`, …).
    pub outcomes: BTreeMap<String, String>,
    /// Guess what no entry says.
    pub guess: bool,
    /// Where the entries came from, for the report.
    pub file: Option<PathBuf>,
}

/// What a suffix guess found for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess {
    /// Exactly one known name fits.
    One(&'static str),
    /// Several do: not guessed.
    Ambiguous(Vec<&'static str>),
    /// None does.
    None,
}

fn separators_as_dots(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', ".")
}

/// The known name `name` ends with after a `.` or `_` (or equals but for separators and
/// case), when exactly one fits. A known name is never remapped.
pub fn guess_suffix(name: &str, known: &[&'static str]) -> Guess {
    if known.contains(&name) {
        return Guess::None;
    }
    let normal = separators_as_dots(name);
    let fits: Vec<&'static str> = known
        .iter()
        .copied()
        .filter(|k| {
            let k = separators_as_dots(k);
            normal == k
                || normal
                    .strip_suffix(k.as_str())
                    .is_some_and(|head| head.ends_with('.'))
        })
        .collect();
    match fits.as_slice() {
        [] => Guess::None,
        [one] => Guess::One(one),
        _ => Guess::Ambiguous(fits),
    }
}

/// Counts applications per (what, from, to, how) as a read goes.
#[derive(Debug, Default)]
pub struct Tally {
    counts: BTreeMap<(Mapped, String, String, How), usize>,
    ambiguous: BTreeMap<String, Vec<&'static str>>,
}

impl Tally {
    pub(super) fn note(&mut self, what: Mapped, from: &str, to: &str, how: How) {
        *self
            .counts
            .entry((what, from.to_owned(), to.to_owned(), how))
            .or_default() += 1;
    }

    /// The report of everything noted.
    pub fn report(self, mapping: &Mapping) -> MapReport {
        MapReport {
            file: mapping.file.clone(),
            guessing: mapping.guess,
            applied: self
                .counts
                .into_iter()
                .map(|((what, from, to, how), count)| Applied {
                    what,
                    from,
                    to,
                    how,
                    count,
                })
                .collect(),
            ambiguous: self
                .ambiguous
                .into_iter()
                .map(|(name, fits)| {
                    format!(
                        "{name} fits {}: not guessed (--mapping)",
                        fits.join(" and ")
                    )
                })
                .collect(),
        }
    }
}

impl Mapping {
    /// No entries, no guessing: spans are read as written.
    pub fn none() -> Self {
        Self::default()
    }

    /// No entries, guessing on.
    pub fn guessing() -> Self {
        Self {
            guess: true,
            ..Self::default()
        }
    }

    fn rename(
        &self,
        what: Mapped,
        name: &str,
        explicit: &BTreeMap<String, String>,
        known: &[&'static str],
        tally: &mut Tally,
    ) -> Option<String> {
        if let Some(to) = explicit.get(name) {
            tally.note(what, name, to, How::MappingFile);
            return Some(to.clone());
        }
        if !self.guess {
            return None;
        }
        match guess_suffix(name, known) {
            Guess::One(to) => {
                tally.note(what, name, to, How::Suffix);
                Some(to.to_owned())
            }
            Guess::Ambiguous(fits) => {
                tally.ambiguous.insert(name.to_owned(), fits);
                None
            }
            Guess::None => None,
        }
    }

    /// Renames span names, attribute keys and `work.outcome` values of `spans` in place.
    pub fn apply(&self, spans: &mut [SpanRecord], tally: &mut Tally) {
        for span in spans {
            if let Some(to) = self.rename(
                Mapped::SpanName,
                &span.name,
                &self.span_names,
                SPAN_NAMES,
                tally,
            ) {
                span.name = to;
            }
            for (key, value) in &mut span.attributes {
                if let Some(to) = self.rename(
                    Mapped::Attribute,
                    key,
                    &self.attributes,
                    ATTRIBUTE_KEYS,
                    tally,
                ) {
                    *key = to.into();
                }
                if &**key == "work.outcome" {
                    if let AttrValue::Str(text) = value {
                        if let Some(to) = self.outcomes.get(text.as_str()) {
                            tally.note(Mapped::Outcome, text, to, How::MappingFile);
                            *text = to.clone();
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
