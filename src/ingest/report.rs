//! What a read found besides the spans: every fragment it skipped, with the line it began
//! on, a reason in words and a reason *class* (`SkipKind`), so a file with hundreds of
//! skipped fragments can be summarised by class instead of listed line by line.

use std::collections::BTreeMap;

use serde::Serialize;

/// How many skipped fragments a report lists; past this it only counts them, so a file of
/// garbage cannot exhaust memory through its own report.
pub const SKIPPED_LISTED_MAX: usize = 1_000;

/// How many refused spans a report keeps the reason of, for verdicts to cite.
pub const REFUSED_CITED_MAX: usize = 10;

/// Why a fragment was skipped, as a stable key: the grouping `spans check` shows and the
/// `kind` of its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Bytes that do not parse as JSON.
    NotJson,
    /// A top-level JSON value that is not an object (an array, a number, …).
    NotObject,
    /// An object of neither format (no `resourceSpans`, no `operation_name`).
    UnknownObject,
    /// A span without a field checks need (ids, name, a start or an end).
    MissingField,
    /// A span whose times are not times, are absurd, or run backwards.
    BadTime,
    /// A span whose status is neither ok, error nor unset (and no mapping said which).
    BadStatus,
    /// A span whose attributes cannot be read.
    BadAttribute,
    /// A span far in time from the file's other spans.
    OutOfWindow,
    /// A span id already used by a different span of the same trace.
    DuplicateId,
    /// A span on a loop of parent links.
    ParentCycle,
    /// The same span again: counted once.
    Copy,
}

impl SkipKind {
    /// The key, as JSON and the findings write it.
    pub fn key(self) -> &'static str {
        match self {
            Self::NotJson => "not_json",
            Self::NotObject => "not_object",
            Self::UnknownObject => "unknown_object",
            Self::MissingField => "missing_field",
            Self::BadTime => "bad_time",
            Self::BadStatus => "bad_status",
            Self::BadAttribute => "bad_attribute",
            Self::OutOfWindow => "out_of_window",
            Self::DuplicateId => "duplicate_id",
            Self::ParentCycle => "parent_cycle",
            Self::Copy => "copy",
        }
    }

    /// The class of a span refusal, from the reason the converters and `sanity` give. The
    /// converters say why in words (their errors are text, and the text is what a reader
    /// sees), so the class is read back from those words; the unit tests pin every reason
    /// the readers produce to a class, so a reworded reason cannot drift into the wrong one.
    pub fn of_refusal(reason: &str) -> Self {
        // An OTLP reason starts with the span's place: `resourceSpans[0]…spans[2]: no name`.
        let bare = reason
            .split_once("]: ")
            .map_or(reason, |(_, rest)| rest)
            .trim();
        if bare.contains("parent cycle") {
            Self::ParentCycle
        } else if bare.contains("is already used by") {
            Self::DuplicateId
        } else if bare.contains("the file's other spans") {
            Self::OutOfWindow
        } else if bare.starts_with("status") {
            Self::BadStatus
        } else if bare.starts_with("attribute")
            || bare.starts_with("span_attributes")
            || bare.starts_with("intValue")
            || bare.starts_with("doubleValue")
        {
            Self::BadAttribute
        } else if bare.starts_with("timestamp")
            || bare.starts_with("duration_ms")
            || bare.contains(" is before ")
            || bare.contains("past 64-bit nanoseconds")
        {
            Self::BadTime
        } else {
            Self::MissingField
        }
    }
}

/// One fragment the reader did not take as a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// 1-based line where the fragment began.
    pub line: usize,
    /// The reason's class.
    pub kind: SkipKind,
    /// Why, in words.
    pub reason: String,
    /// Whether the fragment says it failed (`"status": "error"`, an OTLP error code, or a
    /// status the mapping reads as error): an error the error check could not judge.
    pub error_status: bool,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What a read found besides the spans.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    /// Spans read.
    pub spans: usize,
    /// Fragments not read as spans, by line; at most `SKIPPED_LISTED_MAX` of them.
    pub skipped: Vec<Skipped>,
    /// Every fragment not read, listed or not.
    pub skipped_total: usize,
    /// Every fragment not read, listed or not, by kind key.
    pub skipped_by_kind: BTreeMap<&'static str, usize>,
    /// Of the fragments not read, those that carry an error status, listed or not.
    pub error_status_total: usize,
    /// Of those, spans the reader recognised and refused (a field missing or absurd, an id
    /// used twice, a parent loop): evidence lost, so no verdict on the rest may pass.
    pub spans_refused: usize,
    /// The first `REFUSED_CITED_MAX` refused spans: (line, reason).
    pub refused_first: Vec<(usize, String)>,
}

impl IngestReport {
    pub(super) fn skip(&mut self, line: usize, kind: SkipKind, reason: String, error: bool) {
        self.skipped_total += 1;
        *self.skipped_by_kind.entry(kind.key()).or_default() += 1;
        self.error_status_total += usize::from(error);
        if self.skipped.len() < SKIPPED_LISTED_MAX {
            self.skipped.push(Skipped {
                line,
                kind,
                reason,
                error_status: error,
            });
        }
    }

    pub(super) fn refuse(&mut self, line: usize, reason: String, error: bool) {
        self.spans_refused += 1;
        if self.refused_first.len() < REFUSED_CITED_MAX {
            self.refused_first.push((line, reason.clone()));
        }
        self.skip(line, SkipKind::of_refusal(&reason), reason, error);
    }

    /// The one-line summary: spans read, fragments skipped, refusals.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} spans read, {} fragments skipped",
            self.spans, self.skipped_total
        );
        if self.spans_refused > 0 {
            out.push_str(&format!(" ({} of them refused spans)", self.spans_refused));
        }
        out
    }

    /// Lines of the listed fragments that carry an error status.
    pub fn error_status_lines(&self) -> Vec<usize> {
        self.skipped
            .iter()
            .filter(|s| s.error_status)
            .map(|s| s.line)
            .collect()
    }
}

impl std::fmt::Display for IngestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.summary())?;
        for skipped in &self.skipped {
            write!(f, "\n    - {skipped}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every reason the converters and the file-level checks give lands in its class
    // (the reasons are copied from the readers' messages), so the grouping is trustworthy.
    #[test]
    fn refusal_reasons_classified() {
        let cases = [
            ("no start_time", SkipKind::MissingField),
            ("missing or empty trace_id", SkipKind::MissingField),
            ("operation_name is not a non-empty text", SkipKind::MissingField),
            ("neither duration_ms nor end_time", SkipKind::MissingField),
            ("resourceSpans[0].scopeSpans[0].spans[1]: no name", SkipKind::MissingField),
            ("timestamp «x» is not RFC 3339: bad", SkipKind::BadTime),
            ("duration_ms -4 is negative", SkipKind::BadTime),
            ("end_time is before start_time", SkipKind::BadTime),
            (
                "resourceSpans[0].scopeSpans[0].spans[2]: endTimeUnixNano 1 is before startTimeUnixNano 2",
                SkipKind::BadTime,
            ),
            ("start_time plus duration_ms 5 is past 64-bit nanoseconds", SkipKind::BadTime),
            ("status «meh» is not ok, error or unset", SkipKind::BadStatus),
            ("status {\"code\":7} is not text", SkipKind::BadStatus),
            ("span_attributes 3 is not an object", SkipKind::BadAttribute),
            ("attribute x has no value", SkipKind::BadAttribute),
            ("intValue \"q\" is not a 64-bit integer", SkipKind::BadAttribute),
            (
                "span 01 «x» starts at 2508, 300 years after the file's other spans (a to b)",
                SkipKind::OutOfWindow,
            ),
            (
                "span id 01 «x» is already used by «y» at line 3 of the same trace",
                SkipKind::DuplicateId,
            ),
            ("span 01 «x» is its own ancestor (parent cycle 01 → 01)", SkipKind::ParentCycle),
        ];
        for (reason, kind) in cases {
            assert_eq!(SkipKind::of_refusal(reason), kind, "{reason}");
        }
    }

    // Proves counts by kind and error statuses cover fragments past the listing bound.
    #[test]
    fn counts_cover_unlisted_fragments() {
        let mut report = IngestReport::default();
        for line in 0..SKIPPED_LISTED_MAX + 5 {
            report.skip(line, SkipKind::NotJson, "x".into(), line % 2 == 0);
        }
        assert_eq!(report.skipped.len(), SKIPPED_LISTED_MAX);
        assert_eq!(report.skipped_by_kind["not_json"], SKIPPED_LISTED_MAX + 5);
        assert_eq!(
            report.error_status_total,
            (SKIPPED_LISTED_MAX + 5).div_ceil(2)
        );
    }
}
