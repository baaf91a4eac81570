//! Evaluation: each claim against the metrics of the scenarios that carry its tags.
//!
//! When several scenarios measure a claim's metric, the least favourable observation stands
//! (the smallest for `>`/`>=`, the largest for `<`/`<=`, the farthest for `==`), so a claim is
//! VERIFIED only if every measurement supports it.

use serde::Serialize;

use super::ledger::{Claim, Comparator, Ledger};
use super::metrics::{Better, Observed};

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

/// What one scenario measured, and how it is tagged.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioMetrics {
    /// Scenario name (with its feature).
    pub name: String,
    /// Tags without `@`.
    pub tags: Vec<String>,
    /// Metric values.
    pub observed: Observed,
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

fn evaluate_one(claim: &Claim, scenarios: &[ScenarioMetrics]) -> ClaimResult {
    let mut values = Vec::new();
    let mut evidence = Vec::new();
    for scenario in scenarios
        .iter()
        .filter(|s| s.tags.iter().any(|t| claim.tags.contains(t)))
    {
        if let Some(&value) = scenario.observed.get(claim.metric.name) {
            values.push(value);
            evidence.push(format!(
                "{} = {value:.3} {}",
                scenario.name, claim.metric.unit
            ));
        }
    }
    let observed = deciding(claim.comparator, claim.threshold, &values);
    let status = match observed {
        None => ClaimStatus::Unverified,
        Some(value) if claim.comparator.holds(value, claim.threshold) => ClaimStatus::Verified,
        Some(_) => ClaimStatus::Refuted,
    };
    if observed.is_none() {
        evidence.push(format!(
            "no scenario tagged {} measured {} in this run",
            claim
                .tags
                .iter()
                .map(|t| format!("@{t}"))
                .collect::<Vec<_>>()
                .join(" or "),
            claim.metric.name
        ));
    }
    ClaimResult {
        id: claim.id.clone(),
        statement: claim.statement.clone(),
        metric: claim.metric.name.to_owned(),
        unit: claim.metric.unit.to_owned(),
        expected: format!("{} {}", claim.comparator.symbol(), claim.threshold),
        observed,
        status,
        evidence,
        known_shortfall: claim.known_shortfall.clone(),
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
mod tests {
    use super::*;

    fn ledger(metric: &str, comparator: &str, threshold: f64) -> Ledger {
        let text = format!(
            "[[claim]]\nid = \"c\"\nstatement = \"s\"\nmetric = \"{metric}\"\ncomparator = \"{comparator}\"\nthreshold = {threshold}\ntags = [\"t\"]\n"
        );
        Ledger::parse(&text, "test").expect("valid")
    }

    fn scenario(tag: &str, metric: &str, value: f64) -> ScenarioMetrics {
        ScenarioMetrics {
            name: format!("{tag}-{value}"),
            tags: vec![tag.into()],
            observed: [(metric.to_owned(), value)].into_iter().collect(),
        }
    }

    // Proves the worst of several measurements decides, so one bad run refutes.
    #[test]
    fn worst_measurement_decides() {
        let l = ledger("work.claim.throughput_ops_s", ">", 1000.0);
        let results = evaluate(
            &l,
            &[
                scenario("t", "work.claim.throughput_ops_s", 5000.0),
                scenario("t", "work.claim.throughput_ops_s", 900.0),
            ],
        );
        assert_eq!(results[0].status, ClaimStatus::Refuted);
        assert_eq!(results[0].observed, Some(900.0));
    }

    // Proves a false claim is refuted with the observed value.
    #[test]
    fn false_claim_refuted() {
        let l = ledger("work.claim.latency_ms_p99", "<", 0.000001);
        let results = evaluate(&l, &[scenario("t", "work.claim.latency_ms_p99", 0.002)]);
        assert_eq!(results[0].status, ClaimStatus::Refuted);
        assert_eq!(results[0].observed, Some(0.002));
    }

    // Proves a known shortfall stays REFUTED with its measurement but does not fail the run,
    // while the same claim without the note does.
    #[test]
    fn known_shortfall_is_reported_but_excused() {
        let text = "[[claim]]\nid = \"c\"\nstatement = \"s\"\nmetric = \"deploy.duration_s_max\"\ncomparator = \"<\"\nthreshold = 30\ntags = [\"t\"]\nknown_shortfall = \"slow model\"\n";
        let noted = Ledger::parse(text, "test").expect("valid");
        let result = &evaluate(&noted, &[scenario("t", "deploy.duration_s_max", 70.0)])[0];
        assert_eq!(result.status, ClaimStatus::Refuted);
        assert_eq!(result.observed, Some(70.0));
        assert!(!result.fails_run());
        let plain = ledger("deploy.duration_s_max", "<", 30.0);
        assert!(evaluate(&plain, &[scenario("t", "deploy.duration_s_max", 70.0)])[0].fails_run());
    }

    // Proves a claim with no evidence (tag filtered out) is unverified, not verified.
    #[test]
    fn missing_evidence_is_unverified() {
        let l = ledger("coordination.double_holds", "==", 0.0);
        let results = evaluate(&l, &[scenario("other", "coordination.double_holds", 0.0)]);
        assert_eq!(results[0].status, ClaimStatus::Unverified);
    }

    // Proves a worse-than-baseline figure beyond tolerance becomes a regression.
    #[test]
    fn regression_against_baseline() {
        let l = ledger("work.claim.throughput_ops_s", ">", 1000.0);
        let mut now = evaluate(&l, &[scenario("t", "work.claim.throughput_ops_s", 5000.0)]);
        let mut better = now.clone();
        better[0].observed = Some(8000.0);
        let mut close = now.clone();
        close[0].observed = Some(5200.0);
        mark_regressions(&l, &mut now, &close);
        assert_eq!(now[0].status, ClaimStatus::Verified);
        mark_regressions(&l, &mut now, &better);
        assert_eq!(now[0].status, ClaimStatus::Regression);
    }
}
