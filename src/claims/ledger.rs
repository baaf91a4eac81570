//! A ledger file (TOML) of claims, validated at load time: a claim on a metric no step can
//! produce, a comparator that is not one, or a duplicate id is an error naming file and line.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::conditions::Condition;
use super::custom::CustomMetric;
use super::custom_load::{self, RawMetric};
use super::metrics::{self, Better};
use crate::error::{Error, Result};

/// Default tolerance for regressions against a baseline, in percent.
pub const TOLERANCE_PERCENT_DEFAULT: f64 = 10.0;

/// How an observed value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparator {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `==`
    Equal,
}

impl Comparator {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "<" => Comparator::Less,
            "<=" => Comparator::LessOrEqual,
            ">" => Comparator::Greater,
            ">=" => Comparator::GreaterOrEqual,
            "==" => Comparator::Equal,
            _ => return None,
        })
    }

    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Less => "<",
            Comparator::LessOrEqual => "<=",
            Comparator::Greater => ">",
            Comparator::GreaterOrEqual => ">=",
            Comparator::Equal => "==",
        }
    }

    /// Whether `observed` satisfies `threshold`.
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            Comparator::Less => observed < threshold,
            Comparator::LessOrEqual => observed <= threshold,
            Comparator::Greater => observed > threshold,
            Comparator::GreaterOrEqual => observed >= threshold,
            Comparator::Equal => observed == threshold,
        }
    }
}

/// One validated claim.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// Stable id, referenced from prose as `[claim: id]`.
    pub id: String,
    /// The claim in words.
    pub statement: String,
    /// The metric it rests on.
    #[serde(serialize_with = "metric_name")]
    pub metric: ClaimMetric,
    /// Comparison.
    pub comparator: Comparator,
    /// Threshold, in the metric's unit.
    pub threshold: f64,
    /// Scenario tags (without `@`) that narrow which scenarios count; empty means every
    /// scenario that measured the metric under the claim's conditions.
    pub tags: Vec<String>,
    /// What the statement says the run must be (agents ≥ 100, clock = real…): evidence from a
    /// run that does not meet them does not count.
    pub conditions: Vec<Condition>,
    /// How much worse than a baseline counts as a regression, in percent.
    pub tolerance_percent: f64,
    /// Line of the claim in the ledger.
    pub line: usize,
    /// Why the system is known not to meet this claim yet. A REFUTED claim with a known
    /// shortfall is still reported as REFUTED, with its measurement, but does not fail the run.
    pub known_shortfall: Option<String>,
}

/// What a claim needs to know of its metric, built-in or defined in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimMetric {
    /// The metric's name.
    pub name: String,
    /// Unit, as printed.
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// What a run must show before it counts as measured, in words.
    pub minimum: String,
}

impl ClaimMetric {
    fn of_custom(metric: &CustomMetric) -> Self {
        Self {
            name: metric.name.clone(),
            unit: metric.unit.clone(),
            better: metric.better,
            minimum: metric.minimum_text(),
        }
    }
}

fn metric_name<S: serde::Serializer>(def: &ClaimMetric, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&def.name)
}

/// A loaded ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    /// Where it came from.
    pub source: String,
    /// Claims in file order.
    pub claims: Vec<Claim>,
    /// Metrics the ledger defines from span queries, in file order.
    pub metrics: Vec<CustomMetric>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    #[serde(default)]
    claim: Vec<Spanned<RawClaim>>,
    #[serde(default)]
    metric: Vec<Spanned<RawMetric>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    id: String,
    statement: String,
    metric: Spanned<String>,
    comparator: Spanned<String>,
    threshold: f64,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    conditions: Option<Spanned<toml::Table>>,
    tolerance_percent: Option<f64>,
    known_shortfall: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Ledger {
    /// Reads and validates the ledger at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Ledger {
            path: path.display().to_string(),
            line: 0,
            problem: format!("cannot read: {error}"),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates ledger text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let fail = |line: usize, problem: String| Error::Ledger {
            path: source.to_owned(),
            line,
            problem,
        };
        let raw: RawLedger = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(0, |span| line_of(text, span.start));
            fail(line, error.message().to_owned())
        })?;
        let line_at = |offset: usize| line_of(text, offset);
        let mut custom: Vec<CustomMetric> = Vec::with_capacity(raw.metric.len());
        for spanned in raw.metric {
            let line = line_of(text, spanned.span().start);
            let metric = custom_load::metric(spanned.into_inner(), line, &line_at)
                .map_err(|(line, problem)| fail(line, problem))?;
            if custom.iter().any(|m| m.name == metric.name) {
                return Err(fail(
                    line,
                    format!("metric «{}» is defined twice", metric.name),
                ));
            }
            custom.push(metric);
        }
        let mut claims: Vec<Claim> = Vec::with_capacity(raw.claim.len());
        for spanned in raw.claim {
            let line = line_of(text, spanned.span().start);
            let claim = spanned.into_inner();
            let metric_line = line_of(text, claim.metric.span().start);
            let builtin = metrics::lookup(claim.metric.get_ref()).map(|def| ClaimMetric {
                name: def.name.to_owned(),
                unit: def.unit.to_owned(),
                better: def.better,
                minimum: def.minimum.to_owned(),
            });
            let defined = custom
                .iter()
                .find(|m| &m.name == claim.metric.get_ref())
                .map(ClaimMetric::of_custom);
            let metric = builtin.or(defined).ok_or_else(|| {
                let known: Vec<&str> = metrics::CATALOGUE
                    .iter()
                    .map(|m| m.name)
                    .chain(custom.iter().map(|m| m.name.as_str()))
                    .collect();
                fail(
                    metric_line,
                    format!(
                        "unknown metric «{}»; known: {} (or define it in a [[metric]] table)",
                        claim.metric.get_ref(),
                        known.join(", ")
                    ),
                )
            })?;
            let comparator_line = line_of(text, claim.comparator.span().start);
            let comparator = Comparator::parse(claim.comparator.get_ref()).ok_or_else(|| {
                fail(
                    comparator_line,
                    format!(
                        "bad comparator «{}»: use <, <=, >, >= or ==",
                        claim.comparator.get_ref()
                    ),
                )
            })?;
            if claim.id.trim().is_empty() || claims.iter().any(|c| c.id == claim.id) {
                return Err(fail(
                    line,
                    format!("claim id «{}» is empty or used twice", claim.id),
                ));
            }
            if !claim.threshold.is_finite() {
                return Err(fail(
                    line,
                    format!("claim {}: threshold must be a finite number", claim.id),
                ));
            }
            let conditions = match &claim.conditions {
                Some(table) => {
                    let at = line_of(text, table.span().start);
                    table
                        .get_ref()
                        .iter()
                        .map(|(key, value)| {
                            Condition::parse(key, value).map_err(|problem| {
                                fail(at, format!("claim {}: {problem}", claim.id))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?
                }
                None => Vec::new(),
            };
            let tolerance_percent = claim.tolerance_percent.unwrap_or(TOLERANCE_PERCENT_DEFAULT);
            if !(0.0..=1000.0).contains(&tolerance_percent) {
                return Err(fail(
                    line,
                    format!("claim {}: tolerance_percent must be 0 to 1000", claim.id),
                ));
            }
            claims.push(Claim {
                id: claim.id,
                statement: claim.statement,
                metric,
                comparator,
                threshold: claim.threshold,
                tags: claim
                    .tags
                    .into_iter()
                    .map(|t| t.trim_start_matches('@').to_owned())
                    .collect(),
                conditions,
                tolerance_percent,
                line,
                known_shortfall: claim
                    .known_shortfall
                    .filter(|reason| !reason.trim().is_empty()),
            });
        }
        Ok(Self {
            source: source.to_owned(),
            claims,
            metrics: custom,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[[claim]]\nid = \"a\"\nstatement = \"s\"\nmetric = \"coordination.double_holds\"\ncomparator = \"==\"\nthreshold = 0\ntags = [\"@race\"]\n";

    fn error_of(text: &str) -> String {
        Ledger::parse(text, "claims.toml")
            .expect_err("should be refused")
            .to_string()
    }

    // Proves a valid ledger loads, with tags stripped of '@'.
    #[test]
    fn good_ledger_loads() {
        let ledger = Ledger::parse(GOOD, "claims.toml").expect("valid");
        assert_eq!(ledger.claims[0].tags, vec!["race"]);
        assert_eq!(ledger.claims[0].line, 1);
    }

    // Proves an unknown metric is refused with the line of the metric.
    #[test]
    fn unknown_metric_names_line() {
        let text = GOOD.replace("coordination.double_holds", "vibes.per_second");
        assert!(
            error_of(&text).starts_with("claims.toml:4: unknown metric «vibes.per_second»"),
            "{}",
            error_of(&text)
        );
    }

    // Proves a bad comparator is refused with its line.
    #[test]
    fn bad_comparator_names_line() {
        let text = GOOD.replace("\"==\"", "\"about\"");
        assert!(
            error_of(&text).starts_with("claims.toml:5: bad comparator"),
            "{}",
            error_of(&text)
        );
    }

    // Proves broken TOML is refused with a line.
    #[test]
    fn bad_toml_names_line() {
        let text = format!("{GOOD}threshold = = 3\n");
        assert!(
            error_of(&text).starts_with("claims.toml:8:"),
            "{}",
            error_of(&text)
        );
    }

    // Proves conditions load, and a misspelt condition key is refused with its line.
    #[test]
    fn conditions_load_and_typos_are_refused() {
        let text = format!("{GOOD}conditions = {{ agents = \">= 100\", clock = \"real\" }}\n");
        let ledger = Ledger::parse(&text, "claims.toml").expect("valid");
        let shown: Vec<String> = ledger.claims[0]
            .conditions
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, vec!["agents >= 100", "clock = real"]);
        let typo = format!("{GOOD}conditions = {{ agent = 100 }}\n");
        assert!(
            error_of(&typo).starts_with("claims.toml:8: claim a: unknown condition «agent»"),
            "{}",
            error_of(&typo)
        );
    }

    // Proves a claim without tags is valid: conditions and the metric scope it.
    #[test]
    fn tags_are_optional() {
        let text = GOOD.replace("tags = [\"@race\"]\n", "");
        assert!(
            Ledger::parse(&text, "claims.toml").expect("valid").claims[0]
                .tags
                .is_empty()
        );
    }

    // Proves duplicate ids are refused.
    #[test]
    fn duplicate_ids_refused() {
        assert!(error_of(&format!("{GOOD}{GOOD}")).contains("used twice"));
    }
}
