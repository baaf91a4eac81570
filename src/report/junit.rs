//! JUnit XML: one suite of scenarios and one of claims, so CI shows both.

use std::fmt::Write as _;

use super::model::{RunReport, ScenarioStatus};
use crate::claims::ClaimStatus;

/// Escapes text for XML attributes and content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit document.
pub fn render(report: &RunReport) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"swarmspec\">\n",
    );
    let unasserted = |s: &&super::model::ScenarioResult| {
        matches!(
            s.status,
            ScenarioStatus::NoAssertion | ScenarioStatus::NotApplicable
        )
    };
    let skipped = report.scenarios.iter().filter(unasserted).count();
    let failed = report
        .scenarios
        .iter()
        .filter(|s| s.status != ScenarioStatus::Passed)
        .count()
        - skipped;
    let _ = writeln!(
        out,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\">",
        report.scenarios.len()
    );
    for scenario in &report.scenarios {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\">",
            escape(&scenario.feature),
            escape(&scenario.name)
        );
        if scenario.status == ScenarioStatus::NoAssertion {
            let _ = write!(out, "<skipped message=\"no assertion: no Then step\"/>");
        } else if scenario.status == ScenarioStatus::NotApplicable {
            let why = scenario.failure.clone().unwrap_or_default();
            let _ = write!(out, "<skipped message=\"{}\"/>", escape(&why));
        } else if scenario.status != ScenarioStatus::Passed {
            let message = scenario
                .failure
                .clone()
                .unwrap_or_else(|| format!("{:?}", scenario.status));
            let _ = write!(
                out,
                "<failure message=\"{}\">seed {}\n{}</failure>",
                escape(message.lines().next().unwrap_or_default()),
                scenario.seed,
                escape(&message)
            );
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n");
    let failing = |s: ClaimStatus| matches!(s, ClaimStatus::Refuted | ClaimStatus::Regression);
    let _ = writeln!(
        out,
        "  <testsuite name=\"claims\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        report.claims.len(),
        report.claims.iter().filter(|c| failing(c.status)).count(),
        report
            .claims
            .iter()
            .filter(|c| c.status == ClaimStatus::Unverified)
            .count()
    );
    for claim in &report.claims {
        let _ = write!(
            out,
            "    <testcase classname=\"claims\" name=\"{}\">",
            escape(&claim.id)
        );
        let observed = claim.observed.map_or("none".to_owned(), |v| {
            format!("{} {}", crate::claims::format_value(v), claim.unit)
        });
        let detail = format!(
            "{}: observed {observed}, expected {} {}",
            claim.status.as_str(),
            claim.expected,
            claim.unit
        );
        if failing(claim.status) {
            let _ = write!(
                out,
                "<failure message=\"{}\">{}</failure>",
                escape(&detail),
                escape(&claim.evidence.join("\n"))
            );
        } else if claim.status == ClaimStatus::Unverified {
            let _ = write!(out, "<skipped message=\"{}\"/>", escape(&detail));
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
