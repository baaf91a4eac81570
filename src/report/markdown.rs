//! Markdown for a pull-request comment: the summary, the claims table, failed scenarios.
//!
//! `render_body` holds everything that depends only on the evidence (no run id, no time, no
//! paths), so a seeded deterministic run renders the same body on every machine.

use std::fmt::Write as _;

use super::model::{RunReport, ScenarioStatus};

/// The whole document: a header naming the run, then the body.
pub fn render(report: &RunReport) -> String {
    let run = &report.run;
    let mut out = format!(
        "# swarmspec verify — run {}\n\nMachine: {} cores, {}/{}. Ledger: `{}`.",
        run.run_id, run.machine.cores, run.machine.os, run.machine.arch, run.ledger
    );
    if let Some(seed) = run.seed_override {
        let _ = write!(out, " Seed: {seed}.");
    }
    if let Some(tags) = &run.tags {
        let _ = write!(out, " Tags: `{tags}`.");
    }
    out.push_str("\n\n");
    out.push_str(&render_body(report));
    out
}

fn observed_text(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(
        || "—".to_owned(),
        |v| format!("{} {unit}", crate::claims::format_value(v)),
    )
}

/// Summary, claims and failing scenarios: stable for a seeded deterministic run.
pub fn render_body(report: &RunReport) -> String {
    let s = &report.summary;
    let mut out = format!(
        "**{}** — scenarios: {} passed, {} failed, {} with no assertion of {}; claims: {} verified, {} refuted, {} unverified, {} regressed.\n\n",
        if report.passed(false) { "PASS" } else { "FAIL" },
        s.scenarios_passed,
        s.scenarios_failed,
        s.scenarios_no_assertion,
        s.scenarios,
        s.claims_verified,
        s.claims_refuted,
        s.claims_unverified,
        s.claims_regressed
    );
    out.push_str("## Claims\n\n| claim | status | observed | expected | statement |\n|---|---|---|---|---|\n");
    for claim in &report.claims {
        let _ = writeln!(
            out,
            "| `{}` | **{}**{} | {} | {} {} | {} |",
            claim.id,
            claim.status.as_str(),
            if claim.status == crate::claims::ClaimStatus::Refuted
                && claim.known_shortfall.is_some()
            {
                " (known shortfall)"
            } else {
                ""
            },
            observed_text(claim.observed, &claim.unit),
            claim.expected,
            claim.unit,
            claim.statement.replace('|', "\\|")
        );
    }
    render_decisions(&mut out, report);
    let failed: Vec<_> = report
        .scenarios
        .iter()
        .filter(|sc| sc.status != ScenarioStatus::Passed)
        .collect();
    out.push_str("\n## Scenarios\n\n");
    if failed.is_empty() {
        let _ = writeln!(out, "All {} scenarios passed.", report.scenarios.len());
    }
    for scenario in failed {
        let _ = writeln!(
            out,
            "- **{}** {} › {} (seed {})",
            scenario.status.as_str(),
            scenario.feature,
            scenario.name,
            scenario.seed
        );
        if let Some(failure) = &scenario.failure {
            for line in failure.lines().take(6) {
                let _ = writeln!(out, "  > {line}");
            }
        }
    }
    out
}

/// Left-out measurements shown per claim; the JSON report has them all.
const LEFT_OUT_SHOWN_MAX: usize = 8;

/// Per claim: its conditions, the scenarios that decided it, and the ones left out with
/// their values and why (the first few; the JSON report lists all).
fn render_decisions(out: &mut String, report: &RunReport) {
    out.push_str("\n## How each claim was decided\n");
    for claim in &report.claims {
        let counted: Vec<_> = claim
            .measurements
            .iter()
            .filter(|m| m.left_out.is_none())
            .collect();
        let left: Vec<_> = claim
            .measurements
            .iter()
            .filter(|m| m.left_out.is_some())
            .collect();
        let conditions = if claim.conditions.is_empty() {
            "none".to_owned()
        } else {
            claim.conditions.join(", ")
        };
        let _ = writeln!(
            out,
            "\n- `{}` — conditions: {conditions}; decided by {} scenario(s), {} left out",
            claim.id,
            counted.len(),
            left.len()
        );
        if claim.observed.is_none() {
            if let Some(reason) = claim.evidence.first() {
                let _ = writeln!(out, "  - {reason}");
            }
        }
        for m in counted.iter().take(LEFT_OUT_SHOWN_MAX) {
            let _ = writeln!(
                out,
                "  - counted: {} = {}",
                m.scenario,
                observed_text(m.value, &claim.unit)
            );
        }
        for m in left.iter().take(LEFT_OUT_SHOWN_MAX) {
            let _ = writeln!(
                out,
                "  - left out: {} = {} ({})",
                m.scenario,
                observed_text(m.value, &claim.unit),
                m.left_out.as_deref().unwrap_or_default()
            );
        }
        if left.len() > LEFT_OUT_SHOWN_MAX {
            let _ = writeln!(
                out,
                "  - … {} more left out (report.json lists them)",
                left.len() - LEFT_OUT_SHOWN_MAX
            );
        }
    }
}
