//! Reading a ledger's `[[metric]]` tables into `CustomMetric`s, every mistake refused with
//! its line: an unknown kind, a missing or stray field, a quantile outside (0, 1], a name the
//! catalogue already has.

use serde::Deserialize;
use toml::Spanned;

use super::custom::{CustomMetric, Kind, Sample, SpanQuery};
use super::metrics::{self, Better};

/// A `[[metric]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
    name: String,
    unit: String,
    better: Spanned<String>,
    kind: Spanned<String>,
    span: String,
    #[serde(default, rename = "where")]
    filter: Option<Spanned<toml::Table>>,
    over: Option<Spanned<RawQuery>>,
    scale: Option<f64>,
    quantile: Option<Spanned<f64>>,
    of: Option<String>,
    minimum: Option<Spanned<i64>>,
}

/// A ratio's denominator as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuery {
    span: String,
    #[serde(default, rename = "where")]
    filter: Option<toml::Table>,
}

/// Samples a percentile needs by default: fewer cannot place a p99.
const PERCENTILE_SAMPLES_MIN_DEFAULT: u64 = metrics::LATENCY_SAMPLES_MIN;

fn attributes(table: &toml::Table) -> Result<Vec<(String, Vec<String>)>, String> {
    let one = |key: &str, value: &toml::Value| -> Result<String, String> {
        match value {
            toml::Value::String(text) => Ok(text.clone()),
            toml::Value::Integer(n) => Ok(n.to_string()),
            toml::Value::Float(x) => Ok(x.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            _ => Err(format!(
                "where.{key}: a value is a string, number or boolean, or a list of them"
            )),
        }
    };
    table
        .iter()
        .map(|(key, value)| {
            let values = match value {
                toml::Value::Array(list) if list.is_empty() => {
                    return Err(format!("where.{key}: an empty list matches nothing"))
                }
                toml::Value::Array(list) => list
                    .iter()
                    .map(|v| one(key, v))
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![one(key, other)?],
            };
            Ok((key.clone(), values))
        })
        .collect()
}

/// Validates one raw metric; errors come with the line they concern (`line_at` maps a byte
/// offset to a line, `line` is the table's own).
pub(super) fn metric(
    raw: RawMetric,
    line: usize,
    line_at: &dyn Fn(usize) -> usize,
) -> Result<CustomMetric, (usize, String)> {
    let name = raw.name.trim().to_owned();
    if name.is_empty() || metrics::lookup(&name).is_some() {
        return Err((
            line,
            format!("metric «{name}»: a custom metric needs a name the catalogue does not have"),
        ));
    }
    let at = |offset: usize| line_at(offset);
    let better = match raw.better.get_ref().as_str() {
        "higher" => Better::Higher,
        "lower" => Better::Lower,
        other => {
            return Err((
                at(raw.better.span().start),
                format!("metric {name}: better = «{other}»: use \"higher\" or \"lower\""),
            ))
        }
    };
    let filter = match &raw.filter {
        Some(table) => attributes(table.get_ref())
            .map_err(|problem| (at(table.span().start), format!("metric {name}: {problem}")))?,
        None => Vec::new(),
    };
    let query = SpanQuery {
        span: raw.span.clone(),
        attributes: filter,
    };
    let kind_line = at(raw.kind.span().start);
    let stray = |field: &str, present: bool| -> Result<(), (usize, String)> {
        if present {
            Err((
                kind_line,
                format!(
                    "metric {name}: «{field}» does not apply to kind = \"{}\"",
                    raw.kind.get_ref()
                ),
            ))
        } else {
            Ok(())
        }
    };
    let kind = match raw.kind.get_ref().as_str() {
        "count" | "rate" => {
            stray("over", raw.over.is_some())?;
            stray("quantile", raw.quantile.is_some())?;
            stray("of", raw.of.is_some())?;
            stray("scale", raw.scale.is_some())?;
            if raw.kind.get_ref() == "count" {
                Kind::Count
            } else {
                Kind::Rate
            }
        }
        "ratio" => {
            stray("quantile", raw.quantile.is_some())?;
            stray("of", raw.of.is_some())?;
            let Some(over) = raw.over else {
                return Err((
                    kind_line,
                    format!(
                        "metric {name}: a ratio needs over = {{ span = \"…\" }}, its denominator"
                    ),
                ));
            };
            let over_line = at(over.span().start);
            let over = over.into_inner();
            let scale = raw.scale.unwrap_or(1.0);
            if !scale.is_finite() || scale <= 0.0 {
                return Err((
                    kind_line,
                    format!("metric {name}: scale must be a positive number"),
                ));
            }
            let attributes = match &over.filter {
                Some(table) => attributes(table)
                    .map_err(|problem| (over_line, format!("metric {name}: over.{problem}")))?,
                None => Vec::new(),
            };
            Kind::Ratio {
                over: SpanQuery {
                    span: over.span,
                    attributes,
                },
                scale,
            }
        }
        "percentile" => {
            stray("over", raw.over.is_some())?;
            stray("scale", raw.scale.is_some())?;
            let Some(quantile) = raw.quantile else {
                return Err((
                    kind_line,
                    format!(
                        "metric {name}: a percentile needs quantile = 0.99 (or another in (0, 1])"
                    ),
                ));
            };
            let q = *quantile.get_ref();
            if !(q > 0.0 && q <= 1.0) {
                return Err((
                    at(quantile.span().start),
                    format!("metric {name}: quantile = {q}: it must be in (0, 1], 0.99 for a p99"),
                ));
            }
            let of = match raw.of.as_deref() {
                Some("duration_ms") => Sample::DurationMs,
                Some(key) if !key.trim().is_empty() => Sample::Attribute(key.to_owned()),
                _ => {
                    return Err((
                        kind_line,
                        format!("metric {name}: a percentile needs of = \"duration_ms\" or a numeric attribute's key"),
                    ))
                }
            };
            Kind::Percentile { quantile: q, of }
        }
        other => {
            return Err((
                kind_line,
                format!("metric {name}: kind = «{other}»: use count, rate, ratio or percentile"),
            ))
        }
    };
    let minimum_default = match kind {
        Kind::Percentile { .. } => PERCENTILE_SAMPLES_MIN_DEFAULT,
        _ => 1,
    };
    let minimum = match raw.minimum {
        Some(value) if *value.get_ref() >= 1 => *value.get_ref() as u64,
        Some(value) => {
            return Err((
                at(value.span().start),
                format!(
                "metric {name}: minimum must be at least 1 (a figure from no span proves nothing)"
            ),
            ))
        }
        None => minimum_default,
    };
    Ok(CustomMetric {
        name,
        unit: raw.unit,
        better,
        kind,
        query,
        minimum,
        line,
    })
}

#[cfg(test)]
#[path = "custom_load_tests.rs"]
mod tests;
