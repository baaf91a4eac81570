//! Generic span queries a spec writer can use without Rust: counts by name, attribute and
//! status; exact counts per key; parent/child; one trace per key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Verdict;
use crate::telemetry::SpanRecord;

/// Which spans a check is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanFilter {
    /// Span name.
    pub name: String,
    /// An attribute the span must have, with its value as text.
    pub attribute: Option<(String, String)>,
    /// `Some(true)`: only error spans; `Some(false)`: only non-error spans.
    pub is_error: Option<bool>,
    /// An outcome word (`claimed`, `conflict`, `completed`, …): the span's `*.outcome`
    /// attribute has it (`error` also takes any span with status error).
    pub outcome: Option<String>,
}

/// Whether `span` has the outcome `word`: a `work.outcome`, `deploy.outcome`,
/// `request.outcome` or `compliance.outcome` of that text, or, for `error`, an error status.
pub fn has_outcome(span: &SpanRecord, word: &str) -> bool {
    (word == "error" && span.is_error())
        || span
            .attributes
            .iter()
            .any(|(key, value)| key.ends_with(".outcome") && value.matches_text(word))
}

impl SpanFilter {
    /// All spans named `name`.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Narrows to spans whose `key` attribute equals `value`.
    pub fn with_attr(mut self, key: &str, value: &str) -> Self {
        self.attribute = Some((key.into(), value.into()));
        self
    }

    /// Narrows to spans with that outcome (see `has_outcome`).
    pub fn with_outcome(mut self, word: &str) -> Self {
        self.outcome = Some(word.into());
        self
    }

    /// Narrows to error (or non-error) spans.
    pub fn with_error(mut self, is_error: bool) -> Self {
        self.is_error = Some(is_error);
        self
    }

    /// Whether `name` is this filter's name, or falls under it when the filter's name ends
    /// in `.*` (`work.*` takes every `work.` span).
    pub fn name_matches(&self, name: &str) -> bool {
        match self.name.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('.') => name.starts_with(prefix),
            _ => name == self.name,
        }
    }

    /// Whether `span` is one of these.
    pub fn matches(&self, span: &SpanRecord) -> bool {
        self.name_matches(&span.name)
            && self.attribute.as_ref().is_none_or(|(key, value)| {
                span.attr(key)
                    .is_some_and(|actual| actual.matches_text(value))
            })
            && self.is_error.is_none_or(|wanted| span.is_error() == wanted)
            && self
                .outcome
                .as_deref()
                .is_none_or(|word| has_outcome(span, word))
    }

    /// The spans in words, for verdicts.
    pub fn describe(&self) -> String {
        let mut text = format!("\"{}\" spans", self.name);
        if let Some(word) = &self.outcome {
            text = format!("{word} {text}");
        }
        if let Some((key, value)) = &self.attribute {
            text.push_str(&format!(" with {key} = \"{value}\""));
        }
        match self.is_error {
            Some(true) => text.push_str(" with status error"),
            Some(false) => text.push_str(" without error status"),
            None => {}
        }
        text
    }
}

/// A numeric expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Exactly n.
    Exactly(u64),
    /// n or more.
    AtLeast(u64),
    /// n or fewer.
    AtMost(u64),
}

impl Comparison {
    /// Whether `value` satisfies it.
    pub fn holds(self, value: u64) -> bool {
        match self {
            Comparison::Exactly(n) => value == n,
            Comparison::AtLeast(n) => value >= n,
            Comparison::AtMost(n) => value <= n,
        }
    }

    /// Words for reports.
    pub fn describe(self) -> String {
        match self {
            Comparison::Exactly(n) => format!("exactly {n}"),
            Comparison::AtLeast(n) => format!("at least {n}"),
            Comparison::AtMost(n) => format!("at most {n}"),
        }
    }
}

fn describe_span(span: &SpanRecord) -> String {
    let agent = span.attr_text("agent.id").unwrap_or_else(|| "-".into());
    let item = span.attr_text("work.item_id").unwrap_or_else(|| "-".into());
    format!(
        "span {} {} agent={agent} item={item}",
        span.span_id_hex(),
        span.name
    )
}

/// How many spans match `filter`, against `expected`.
pub fn count(spans: &[SpanRecord], filter: &SpanFilter, expected: Comparison) -> Verdict {
    let matching: Vec<&SpanRecord> = spans.iter().filter(|s| filter.matches(s)).collect();
    let observed = matching.len() as u64;
    let passed = expected.holds(observed);
    // A failed count lists the matching spans (for "exactly 0" they are the offenders);
    // a passing one needs no list.
    let evidence = if passed {
        Vec::new()
    } else {
        matching.iter().map(|s| describe_span(s)).collect()
    };
    Verdict::new(
        format!("count of {}", filter.describe()),
        passed,
        expected.describe(),
        observed.to_string(),
        evidence,
    )
}

/// The key of a span: the values of `keys`, joined; `None` if any is missing.
fn key_of(span: &SpanRecord, keys: &[&str]) -> Option<String> {
    let parts: Option<Vec<String>> = keys.iter().map(|key| span.attr_text(key)).collect();
    parts.map(|parts| parts.join("/"))
}

/// For every distinct value of `keys` among spans named like `filter`, exactly `n` spans
/// match `filter`. Keys come from every span of that name (any outcome), so a key with no
/// matching span at all counts as 0, not as absent.
pub fn exactly_per_key(
    spans: &[SpanRecord],
    filter: &SpanFilter,
    keys: &[&str],
    n: u64,
) -> Verdict {
    per_key(spans, filter, keys, Comparison::Exactly(n))
}

/// `exactly_per_key` with any comparison: for every distinct value of `keys` among spans
/// named like `filter`, the count of spans matching `filter` satisfies `expected`.
pub fn per_key(
    spans: &[SpanRecord],
    filter: &SpanFilter,
    keys: &[&str],
    expected: Comparison,
) -> Verdict {
    let mut counts: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    for span in spans.iter().filter(|s| filter.name_matches(&s.name)) {
        let Some(key) = key_of(span, keys) else {
            continue;
        };
        let entry = counts.entry(key).or_default();
        if filter.matches(span) {
            entry.0 += 1;
            entry.1.push(
                span.attr_text("agent.id")
                    .unwrap_or_else(|| span.span_id_hex()),
            );
        }
    }
    let offenders: Vec<String> = counts
        .iter()
        .filter(|(_, (found, _))| !expected.holds(*found))
        .map(|(key, (found, agents))| format!("{key}: {found} ({})", agents.join(", ")))
        .collect();
    let keys_text = keys.join(" + ");
    let observed = if offenders.is_empty() {
        let each = match expected {
            Comparison::Exactly(n) => n.to_string(),
            other => other.describe(),
        };
        format!("{each} for each of {} distinct {keys_text}", counts.len())
    } else {
        format!(
            "{} of {} distinct {keys_text} differ",
            offenders.len(),
            counts.len()
        )
    };
    Verdict::new(
        format!("{} per {keys_text}", filter.describe()),
        offenders.is_empty() && !counts.is_empty(),
        format!(
            "{} per {keys_text} (and at least one {keys_text})",
            expected.describe()
        ),
        observed,
        offenders,
    )
}

/// Every span named `child` has a parent span named `parent` in the same trace.
pub fn every_child_has_parent(spans: &[SpanRecord], child: &str, parent: &str) -> Verdict {
    let by_id: HashMap<(u128, u64), &SpanRecord> =
        spans.iter().map(|s| ((s.trace_id, s.span_id), s)).collect();
    let children: Vec<&SpanRecord> = spans.iter().filter(|s| s.name == child).collect();
    let orphans: Vec<String> = children
        .iter()
        .filter(|span| {
            let found = span
                .parent_span_id
                .and_then(|p| by_id.get(&(span.trace_id, p)));
            found.is_none_or(|p| p.name != parent)
        })
        .map(|span| describe_span(span))
        .collect();
    Verdict::new(
        format!("every \"{child}\" span has a parent \"{parent}\" span"),
        orphans.is_empty() && !children.is_empty(),
        format!("0 orphans among at least 1 \"{child}\" span"),
        format!(
            "{} orphans among {} \"{child}\" spans",
            orphans.len(),
            children.len()
        ),
        orphans,
    )
}

/// For each distinct value of `key`, the spans named in `names` that carry it share one trace.
pub fn one_trace_per_key(spans: &[SpanRecord], names: &[&str], key: &str) -> Verdict {
    let mut traces: BTreeMap<String, BTreeSet<u128>> = BTreeMap::new();
    for span in spans.iter().filter(|s| names.contains(&s.name.as_str())) {
        if let Some(value) = span.attr_text(key) {
            traces.entry(value).or_default().insert(span.trace_id);
        }
    }
    let split: Vec<String> = traces
        .iter()
        .filter(|(_, ids)| ids.len() != 1)
        .map(|(value, ids)| format!("{key}={value} spans {} traces", ids.len()))
        .collect();
    Verdict::new(
        format!("{} spans of each {key} form one trace", names.join(", ")),
        split.is_empty() && !traces.is_empty(),
        format!("1 trace for each {key}"),
        format!(
            "{} of {} {key} values span more than one trace",
            split.len(),
            traces.len()
        ),
        split,
    )
}
