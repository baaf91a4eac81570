//! Attribute and rate checks a spec writer composes from a span selection (`SpanFilter`):
//! attribute presence, numeric bounds on an attribute, the share of spans with an outcome
//! (overall or per group, such as per role or team), and how many failures opened a breaker.

use std::collections::{BTreeMap, HashMap};

use super::query::has_outcome;
use super::{SpanFilter, Verdict};
use crate::telemetry::{AttrValue, SpanRecord};

/// How a number must compare with a bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// Strictly below.
    Below(f64),
    /// Below or equal.
    AtMost(f64),
    /// Above or equal.
    AtLeast(f64),
    /// Strictly above.
    Above(f64),
    /// Equal.
    Exactly(f64),
}

impl Bound {
    /// The bound named by `words` (`below`, `at most`, `at least`, `above`, `exactly`).
    pub fn from_words(words: &str, value: f64) -> Option<Self> {
        Some(match words {
            "below" | "under" | "less than" => Bound::Below(value),
            "at most" => Bound::AtMost(value),
            "at least" => Bound::AtLeast(value),
            "above" | "more than" => Bound::Above(value),
            "exactly" => Bound::Exactly(value),
            _ => return None,
        })
    }

    /// Whether `value` satisfies it.
    pub fn holds(self, value: f64) -> bool {
        match self {
            Bound::Below(b) => value < b,
            Bound::AtMost(b) => value <= b,
            Bound::AtLeast(b) => value >= b,
            Bound::Above(b) => value > b,
            Bound::Exactly(b) => value == b,
        }
    }

    fn describe_with(self, show: impl Fn(f64) -> String) -> String {
        match self {
            Bound::Below(b) => format!("below {}", show(b)),
            Bound::AtMost(b) => format!("at most {}", show(b)),
            Bound::AtLeast(b) => format!("at least {}", show(b)),
            Bound::Above(b) => format!("above {}", show(b)),
            Bound::Exactly(b) => format!("exactly {}", show(b)),
        }
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

fn label(span: &SpanRecord) -> String {
    let item = span.attr_text("work.item_id").unwrap_or_else(|| "-".into());
    format!("span {} {} item={item}", span.span_id_hex(), span.name)
}

/// Every span `filter` selects carries each of `keys` (and at least one span is selected).
pub fn every_has_attributes(spans: &[SpanRecord], filter: &SpanFilter, keys: &[&str]) -> Verdict {
    let selected: Vec<&SpanRecord> = spans.iter().filter(|s| filter.matches(s)).collect();
    let lacking: Vec<String> = selected
        .iter()
        .filter_map(|span| {
            let missing: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|key| span.attr(key).is_none())
                .collect();
            (!missing.is_empty()).then(|| format!("{} lacks {}", label(span), missing.join(", ")))
        })
        .collect();
    Verdict::new(
        format!(
            "every one of the {} has {}",
            filter.describe(),
            keys.join(", ")
        ),
        !selected.is_empty() && lacking.is_empty(),
        format!(
            "0 spans lacking one, among at least 1 of the {}",
            filter.describe()
        ),
        format!("{} of {} spans lack one", lacking.len(), selected.len()),
        lacking,
    )
}

fn number(value: &AttrValue) -> Option<f64> {
    match value {
        AttrValue::Int(i) => Some(*i as f64),
        AttrValue::Float(f) => Some(*f),
        AttrValue::Str(s) => s.parse().ok(),
        AttrValue::Bool(_) => None,
    }
}

/// Every span `filter` selects has a numeric `key` within `bound`; a span without the key,
/// or with a value that is no number, is an offender too.
pub fn every_attribute_within(
    spans: &[SpanRecord],
    filter: &SpanFilter,
    key: &str,
    bound: Bound,
) -> Verdict {
    let selected: Vec<&SpanRecord> = spans.iter().filter(|s| filter.matches(s)).collect();
    let offenders: Vec<String> = selected
        .iter()
        .filter_map(|span| match span.attr(key).and_then(number) {
            Some(value) if bound.holds(value) => None,
            Some(value) => Some(format!("{} has {key} = {value}", label(span))),
            None => Some(format!("{} has no numeric {key}", label(span))),
        })
        .collect();
    let values = selected.iter().filter_map(|s| s.attr(key).and_then(number));
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let range = if low.is_finite() {
        format!("values from {low} to {high}")
    } else {
        "no numeric values".to_owned()
    };
    Verdict::new(
        format!("{key} of every one of the {}", filter.describe()),
        !selected.is_empty() && offenders.is_empty(),
        format!(
            "{key} {} on each of at least 1 span",
            bound.describe_with(|b| b.to_string())
        ),
        format!(
            "{} of {} spans outside; {range}",
            offenders.len(),
            selected.len()
        ),
        offenders,
    )
}

/// The share of the spans `population` selects that have the outcome `outcome`, against
/// `bound` (a fraction); no span selected fails (a rate of nothing is no evidence).
pub fn outcome_rate(
    spans: &[SpanRecord],
    population: &SpanFilter,
    outcome: &str,
    bound: Bound,
) -> Verdict {
    let selected: Vec<&SpanRecord> = spans.iter().filter(|s| population.matches(s)).collect();
    let hits: Vec<&&SpanRecord> = selected
        .iter()
        .filter(|s| has_outcome(s, outcome))
        .collect();
    let rate = hits.len() as f64 / selected.len().max(1) as f64;
    let passed = !selected.is_empty() && bound.holds(rate);
    let evidence = if passed {
        Vec::new()
    } else {
        hits.iter().map(|s| label(s)).collect()
    };
    Verdict::new(
        format!(
            "share of the {} with outcome {outcome}",
            population.describe()
        ),
        passed,
        format!("{} of at least 1 span", bound.describe_with(percent)),
        format!("{} of {} ({})", hits.len(), selected.len(), percent(rate)),
        evidence,
    )
}

/// The value of `key` for `span`, or, when the span lacks it, its agent's (`agent.id`
/// looked up among `agent.session` spans: a role or team is set on the session).
fn group_of(
    span: &SpanRecord,
    key: &str,
    sessions: &HashMap<String, &SpanRecord>,
) -> Option<String> {
    span.attr_text(key).or_else(|| {
        let agent = span.attr_text("agent.id")?;
        sessions.get(&agent)?.attr_text(key)
    })
}

/// For every value of `key` (e.g. `agent.role`, `agent.team`), the share of the selected
/// spans with `outcome` satisfies `bound`; each group is listed with its rate.
pub fn outcome_rate_per_group(
    spans: &[SpanRecord],
    population: &SpanFilter,
    outcome: &str,
    bound: Bound,
    key: &str,
) -> Verdict {
    let sessions: HashMap<String, &SpanRecord> = spans
        .iter()
        .filter(|s| s.name == "agent.session")
        .filter_map(|s| Some((s.attr_text("agent.id")?, s)))
        .collect();
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for span in spans.iter().filter(|s| population.matches(s)) {
        let group = group_of(span, key, &sessions).unwrap_or_else(|| "(none)".into());
        let entry = groups.entry(group).or_default();
        entry.0 += u64::from(has_outcome(span, outcome));
        entry.1 += 1;
    }
    let lines: Vec<String> = groups
        .iter()
        .map(|(group, (hits, total))| {
            let rate = *hits as f64 / *total as f64;
            let mark = if bound.holds(rate) { "" } else { " (outside)" };
            format!("{key}={group}: {hits} of {total} ({}){mark}", percent(rate))
        })
        .collect();
    let outside = lines.iter().filter(|l| l.ends_with("(outside)")).count();
    Verdict::new(
        format!(
            "share of the {} with outcome {outcome}, per {key}",
            population.describe()
        ),
        !groups.is_empty() && outside == 0 && !groups.contains_key("(none)"),
        format!("{} in every {key}", bound.describe_with(percent)),
        format!("{outside} of {} groups outside", groups.len()),
        lines,
    )
}

/// Every time an agent's breaker went from closed to open, exactly `failures` failed calls
/// of that agent came right before it (none of its calls succeeded in between).
pub fn breaker_opened_after(spans: &[SpanRecord], failures: u64) -> Verdict {
    let mut calls: BTreeMap<String, Vec<(u64, bool)>> = BTreeMap::new();
    for span in spans
        .iter()
        .filter(|s| s.name.starts_with("work.") || s.name == "agent.register")
    {
        if let Some(agent) = span.attr_text("agent.id") {
            calls
                .entry(agent)
                .or_default()
                .push((span.end_unix_ns, span.is_error()));
        }
    }
    for list in calls.values_mut() {
        list.sort_unstable();
    }
    let mut lines = Vec::new();
    let mut wrong = 0usize;
    let opens = spans.iter().filter(|s| {
        s.name == "circuit.transition"
            && s.attr_text("circuit.from").as_deref() == Some("closed")
            && s.attr_text("circuit.to").as_deref() == Some("open")
    });
    for open in opens {
        let agent = open.attr_text("agent.id").unwrap_or_default();
        let before = calls.get(&agent).map_or(&[][..], |list| {
            let end = list.partition_point(|(at, _)| *at <= open.start_unix_ns);
            &list[..end]
        });
        let run = before
            .iter()
            .rev()
            .take_while(|(_, failed)| *failed)
            .count() as u64;
        if run != failures {
            wrong += 1;
        }
        lines.push(format!(
            "agent {agent}: opened after {run} consecutive failures"
        ));
    }
    let observed = if lines.is_empty() {
        "no breaker opened".to_owned()
    } else {
        format!("{wrong} of {} openings after another count", lines.len())
    };
    Verdict::new(
        "failures before each breaker opened".to_owned(),
        !lines.is_empty() && wrong == 0,
        format!("exactly {failures} consecutive failures before every opening (at least one)"),
        observed,
        lines,
    )
}

#[cfg(test)]
#[path = "attributes_tests.rs"]
mod tests;
