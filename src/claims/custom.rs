//! Metrics a spec writer defines in the ledger from a span query, beside the built-in
//! catalogue: a count, a rate per second, a ratio of two counts, or a percentile of a
//! duration or numeric attribute, over spans selected by name and attribute values.
//!
//! They follow the built-in rules: below their minimum evidence they are unmeasured, with
//! the reason (never a vacuous figure), and durations and rates come only from real-clock
//! runs, whose times were measured rather than modelled.

use serde::Serialize;

use super::metrics::{Better, Measurement};
use crate::evidence::Evidence;
use crate::telemetry::SpanRecord;

/// Which spans a metric reads: one name, and for each listed attribute, one of its values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanQuery {
    /// Span name.
    pub span: String,
    /// Attribute key → accepted values (as a spec writes them: `"claimed"`, `3`, `true`).
    pub attributes: Vec<(String, Vec<String>)>,
}

impl SpanQuery {
    fn matches(&self, span: &SpanRecord) -> bool {
        span.name == self.span
            && self.attributes.iter().all(|(key, values)| {
                span.attr(key)
                    .is_some_and(|value| values.iter().any(|v| value.matches_text(v)))
            })
    }

    fn count(&self, evidence: &Evidence) -> u64 {
        evidence.spans.iter().filter(|s| self.matches(s)).count() as u64
    }
}

impl std::fmt::Display for SpanQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "«{}» spans", self.span)?;
        for (index, (key, values)) in self.attributes.iter().enumerate() {
            let joiner = if index == 0 { " with " } else { " and " };
            write!(f, "{joiner}{key} = {}", values.join(" or "))?;
        }
        Ok(())
    }
}

/// What a percentile is taken of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Sample {
    /// The span's duration, in ms (real clock only).
    DurationMs,
    /// A numeric attribute.
    Attribute(String),
}

/// How a custom metric is computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Kind {
    /// Spans matching the query.
    Count,
    /// Matching spans per second of the `swarm.run` span (real clock only).
    Rate,
    /// Matching spans over the spans matching `over`, times `scale` (100 for a percent).
    Ratio {
        /// The denominator.
        over: SpanQuery,
        /// Multiplier.
        scale: f64,
    },
    /// The `quantile` (0 to 1) of `of` over the matching spans.
    Percentile {
        /// 0.99 for a p99.
        quantile: f64,
        /// What is sampled.
        of: Sample,
    },
}

/// One ledger-defined metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomMetric {
    /// The name claims use (not a catalogue name).
    pub name: String,
    /// Unit, as printed.
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// How it is computed.
    pub kind: Kind,
    /// The spans it reads.
    pub query: SpanQuery,
    /// Spans (or samples) needed before it counts as measured: matching spans for a
    /// percentile, the denominator's spans for a ratio, spans of the query's name otherwise.
    pub minimum: u64,
    /// Line of its `[[metric]]` table in the ledger.
    pub line: usize,
}

fn real_clock_window_ns(evidence: &Evidence) -> Option<u64> {
    let run = evidence.named("swarm.run").next()?;
    (run.attr_text("swarm.mode").as_deref() == Some("throughput")).then(|| run.duration_ns().max(1))
}

/// The `quantile` of `values` by the nearest-rank method (the value at rank ⌈q·n⌉).
fn nearest_rank(values: &mut [f64], quantile: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (quantile * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

impl CustomMetric {
    /// What it needs before it counts as measured, in words (for reports).
    pub fn minimum_text(&self) -> String {
        let clock = match &self.kind {
            Kind::Rate
            | Kind::Percentile {
                of: Sample::DurationMs,
                ..
            } => "a real-clock run with ",
            _ => "",
        };
        match &self.kind {
            Kind::Ratio { over, .. } => format!("{clock}at least {} {over}", self.minimum),
            Kind::Percentile { .. } => format!("{clock}at least {} {}", self.minimum, self.query),
            Kind::Count | Kind::Rate => {
                format!(
                    "{clock}at least {} «{}» spans",
                    self.minimum, self.query.span
                )
            }
        }
    }

    /// Measures this metric on `evidence` into `out`; a run that has no span the query could
    /// read is left out entirely, as built-in metrics are.
    pub fn measure(&self, evidence: &Evidence, out: &mut Measurement) {
        let named = evidence.named(&self.query.span).count() as u64;
        let base = match &self.kind {
            Kind::Ratio { over, .. } => over.count(evidence),
            _ => named,
        };
        let touched = named > 0 || base > 0;
        if !touched {
            return;
        }
        let needs_clock = matches!(
            self.kind,
            Kind::Rate
                | Kind::Percentile {
                    of: Sample::DurationMs,
                    ..
                }
        );
        let window_ns = real_clock_window_ns(evidence);
        if needs_clock && window_ns.is_none() {
            out.short(
                &self.name,
                "a virtual-clock run: its durations are modelled, not measured".into(),
            );
            return;
        }
        let matching: Vec<&SpanRecord> = evidence
            .spans
            .iter()
            .filter(|s| self.query.matches(s))
            .collect();
        let value = match &self.kind {
            Kind::Count => self
                .enough(named, "«".to_owned() + &self.query.span + "» spans", out)
                .then_some(matching.len() as f64),
            Kind::Rate => self
                .enough(named, format!("«{}» spans", self.query.span), out)
                .then(|| matching.len() as f64 * 1e9 / window_ns.unwrap_or(1) as f64),
            Kind::Ratio { over, scale } => self
                .enough(base, over.to_string(), out)
                .then(|| matching.len() as f64 * scale / base as f64),
            Kind::Percentile { quantile, of } => {
                let mut samples: Vec<f64> = matching
                    .iter()
                    .filter_map(|span| match of {
                        Sample::DurationMs => Some(span.duration_ns() as f64 / 1e6),
                        Sample::Attribute(key) => {
                            span.attr_text(key).and_then(|t| t.parse::<f64>().ok())
                        }
                    })
                    .collect();
                let what = match of {
                    Sample::DurationMs => format!("durations of {}", self.query),
                    Sample::Attribute(key) => format!("numeric {key} values of {}", self.query),
                };
                if self.enough(samples.len() as u64, what, out) {
                    nearest_rank(&mut samples, *quantile)
                } else {
                    None
                }
            }
        };
        if let Some(value) = value {
            out.put(&self.name, value);
        }
    }

    /// Whether `count` meets the minimum; when it does not, records why.
    fn enough(&self, count: u64, what: String, out: &mut Measurement) -> bool {
        if count >= self.minimum {
            return true;
        }
        out.short(
            &self.name,
            format!("only {count} {what} (at least {} needed)", self.minimum),
        );
        false
    }
}

/// Measures every custom metric on `evidence` into `out`.
pub fn measure_all(metrics: &[CustomMetric], evidence: &Evidence, out: &mut Measurement) {
    for metric in metrics {
        metric.measure(evidence, out);
    }
}
