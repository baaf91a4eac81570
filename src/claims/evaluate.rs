//! Evaluation: each claim against every scenario that measured its metric.
//!
//! A measurement counts only when its scenario meets the claim's conditions, carries its
//! tags (when the claim names any), met the metric's minimum evidence, and asserted
//! something; a failed scenario's measurement may refute a claim but never verify it. Every
//! measurement left out is listed with its value and the reason, so a hand-picked scope is
//! visible. When several measurements count, the least favourable one stands (the smallest
//! for `>`/`>=`, the largest for `<`/`<=`, the farthest for `==`), so a claim is VERIFIED only
//! if every counted measurement supports it.

use serde::Serialize;

use super::conditions::{unmet_all, RunRecord};
use super::ledger::{Claim, Comparator, Ledger};
use super::metrics::{Better, Observed, Unmeasured};

/// A figure with enough digits to be read: whole numbers above 1000, four significant
/// digits below, so 0.000412 ms does not print as 0.000.
pub fn format_value(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    format!("{value:.decimals$}")
}

/// A claim's standing after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClaimStatus {
    /// Measured in this run, and it holds.
    Verified,
    /// Measured in this run, and it does not hold.
    Refuted,
    /// Not measured in this run: never a pass.
    Unverified,
    /// Holds, but worse than the baseline by more than the claim's tolerance.
    Regression,
}

impl ClaimStatus {
    /// Upper-case word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Verified => "VERIFIED",
            ClaimStatus::Refuted => "REFUTED",
            ClaimStatus::Unverified => "UNVERIFIED",
            ClaimStatus::Regression => "REGRESSION",
        }
    }
}

/// How a scenario ended, as far as claims care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Standing {
    /// Every step passed and at least one asserted something.
    #[default]
    Passed,
    /// A step failed (or was undefined): its figures may refute, never verify.
    Failed,
    /// It ran but asserted nothing: its figures count toward no claim.
    NoAssertion,
    /// It could not run against the system under test: it measured nothing.
    NotApplicable,
}

/// What one scenario measured, what it ran, and how it ended.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ScenarioMetrics {
    /// Scenario name (with its feature).
    pub name: String,
    /// Tags without `@`.
    pub tags: Vec<String>,
    /// Metric values.
    pub observed: Observed,
    /// Metrics it touched without meeting their minimum evidence, with why.
    pub unmeasured: Unmeasured,
    /// What it ran (agents, clock, processes…), for the claims' conditions.
    pub record: RunRecord,
    /// How it ended.
    pub standing: Standing,
}

/// One scenario's figure for a claim's metric.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Measured {
    /// Scenario name (with its feature).
    pub scenario: String,
    /// Its value, when it measured one.
    pub value: Option<f64>,
    /// Why it was left out; `None` when it counted.
    #[serde(default)]
    pub left_out: Option<String>,
}

/// One claim's result.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ClaimResult {
    /// Claim id.
    pub id: String,
    /// Claim in words.
    pub statement: String,
    /// Metric name.
    pub metric: String,
    /// Metric unit.
    pub unit: String,
    /// Expectation, e.g. `> 1000`.
    pub expected: String,
    /// The deciding observation, if any.
    pub observed: Option<f64>,
    /// Standing.
    pub status: ClaimStatus,
    /// Where the evidence came from: `scenario = value` lines, and regression notes.
    pub evidence: Vec<String>,
    /// The ledger's reason why the system does not meet the claim yet, if it gives one.
    #[serde(default)]
    pub known_shortfall: Option<String>,
    /// The conditions the claim states, as text (`agents >= 100`).
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Every scenario that measured (or touched) the metric: the counted ones and the ones
    /// left out, with why.
    #[serde(default)]
    pub measurements: Vec<Measured>,
}

impl ClaimResult {
    /// Whether this result fails a run: REFUTED without a known shortfall, or REGRESSION.
    pub fn fails_run(&self) -> bool {
        match self.status {
            ClaimStatus::Refuted => self.known_shortfall.is_none(),
            ClaimStatus::Regression => true,
            ClaimStatus::Verified | ClaimStatus::Unverified => false,
        }
    }
}

impl<'de> serde::Deserialize<'de> for ClaimStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(match text.as_str() {
            "Verified" => ClaimStatus::Verified,
            "Refuted" => ClaimStatus::Refuted,
            "Regression" => ClaimStatus::Regression,
            _ => ClaimStatus::Unverified,
        })
    }
}

fn deciding(comparator: Comparator, threshold: f64, values: &[f64]) -> Option<f64> {
    // `worse(b, a)`: b is less favourable to the claim than a.
    let worst = |worse: &dyn Fn(f64, f64) -> bool| {
        values
            .iter()
            .copied()
            .reduce(|a, b| if worse(b, a) { b } else { a })
    };
    match comparator {
        Comparator::Greater | Comparator::GreaterOrEqual => worst(&|b, a| b < a),
        Comparator::Less | Comparator::LessOrEqual => worst(&|b, a| b > a),
        Comparator::Equal => worst(&|b, a| (b - threshold).abs() > (a - threshold).abs()),
    }
}

/// Why `scenario`'s figure `value` (absent when below the minimum) does not count for
/// `claim`, or `None` when it does.
fn left_out_because(
    claim: &Claim,
    scenario: &ScenarioMetrics,
    value: Option<f64>,
) -> Option<String> {
    if !claim.tags.is_empty() && !scenario.tags.iter().any(|t| claim.tags.contains(t)) {
        let tags: Vec<String> = claim.tags.iter().map(|t| format!("@{t}")).collect();
        return Some(format!("not tagged {}", tags.join(" or ")));
    }
    let Some(value) = value else {
        let why = scenario.unmeasured.get(&claim.metric.name).cloned();
        return Some(format!(
            "below the minimum evidence ({}): {}",
            claim.metric.minimum,
            why.unwrap_or_default()
        ));
    };
    let unmet = unmet_all(&claim.conditions, &scenario.record);
    if !unmet.is_empty() {
        return Some(unmet.join("; "));
    }
    match scenario.standing {
        Standing::Passed => None,
        Standing::NoAssertion => Some("the scenario asserted nothing (no Then step)".into()),
        Standing::NotApplicable => {
            Some("the scenario was not applicable to the system under test".into())
        }
        Standing::Failed if claim.comparator.holds(value, claim.threshold) => {
            Some("the scenario failed: its figure may refute a claim, never verify one".into())
        }
        Standing::Failed => None,
    }
}

fn unverified_reason(claim: &Claim, measurements: &[Measured]) -> String {
    let scope = if claim.tags.is_empty() {
        String::new()
    } else {
        let tags: Vec<String> = claim.tags.iter().map(|t| format!("@{t}")).collect();
        format!(" tagged {}", tags.join(" or "))
    };
    let conditions = if claim.conditions.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = claim.conditions.iter().map(ToString::to_string).collect();
        format!(" under its conditions ({})", list.join(", "))
    };
    let closest = measurements
        .iter()
        .find(|m| m.value.is_some())
        .or(measurements.first())
        .map(|m| {
            format!(
                "; closest: {} ({})",
                m.scenario,
                m.left_out.as_deref().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    format!(
        "no scenario{scope} measured {}{conditions} in this run{closest}",
        claim.metric.name
    )
}

fn evaluate_one(claim: &Claim, scenarios: &[ScenarioMetrics]) -> ClaimResult {
    let mut values = Vec::new();
    let mut evidence = Vec::new();
    let mut measurements = Vec::new();
    for scenario in scenarios {
        let value = scenario.observed.get(&claim.metric.name).copied();
        if value.is_none() && !scenario.unmeasured.contains_key(&claim.metric.name) {
            continue;
        }
        let left_out = left_out_because(claim, scenario, value);
        let shown = value.map_or("—".to_owned(), |v| {
            format!("{v:.3} {}", claim.metric.unit)
        });
        match &left_out {
            None => {
                values.extend(value);
                evidence.push(format!("{} = {shown}", scenario.name));
            }
            Some(why) => evidence.push(format!("left out: {} = {shown} ({why})", scenario.name)),
        }
        measurements.push(Measured {
            scenario: scenario.name.clone(),
            value,
            left_out,
        });
    }
    let observed = deciding(claim.comparator, claim.threshold, &values);
    let status = match observed {
        None => ClaimStatus::Unverified,
        Some(value) if claim.comparator.holds(value, claim.threshold) => ClaimStatus::Verified,
        Some(_) => ClaimStatus::Refuted,
    };
    if observed.is_none() {
        evidence.insert(0, unverified_reason(claim, &measurements));
    }
    ClaimResult {
        id: claim.id.clone(),
        statement: claim.statement.clone(),
        metric: claim.metric.name.clone(),
        unit: claim.metric.unit.clone(),
        expected: format!("{} {}", claim.comparator.symbol(), claim.threshold),
        observed,
        status,
        evidence,
        known_shortfall: claim.known_shortfall.clone(),
        conditions: claim.conditions.iter().map(ToString::to_string).collect(),
        measurements,
    }
}

/// Evaluates every claim of `ledger` against what `scenarios` measured.
pub fn evaluate(ledger: &Ledger, scenarios: &[ScenarioMetrics]) -> Vec<ClaimResult> {
    ledger
        .claims
        .iter()
        .map(|claim| evaluate_one(claim, scenarios))
        .collect()
}

/// Marks as REGRESSION every VERIFIED claim whose observation is worse than `baseline`'s by
/// more than the claim's tolerance.
pub fn mark_regressions(ledger: &Ledger, results: &mut [ClaimResult], baseline: &[ClaimResult]) {
    for result in results.iter_mut() {
        let Some(claim) = ledger.claims.iter().find(|c| c.id == result.id) else {
            continue;
        };
        let before = baseline
            .iter()
            .find(|b| b.id == result.id)
            .and_then(|b| b.observed);
        let (Some(now), Some(before)) = (result.observed, before) else {
            continue;
        };
        let tolerance = claim.tolerance_percent / 100.0;
        let worse = match claim.metric.better {
            Better::Higher => now < before * (1.0 - tolerance),
            Better::Lower => now > before * (1.0 + tolerance),
        };
        if worse && result.status == ClaimStatus::Verified {
            result.status = ClaimStatus::Regression;
        }
        if worse {
            result.evidence.push(format!(
                "worse than the baseline: {} now, {} before (tolerance {}%)",
                format_value(now),
                format_value(before),
                claim.tolerance_percent
            ));
        }
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
