//! JUnit XML: one suite of scenarios and one of claims, so CI shows both.

use std::fmt::Write as _;

use super::model::{RunReport, ScenarioResult, ScenarioStatus};
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

/// One scenario as a test case: its time, its properties (seed, system, where it is
/// written, tags, rule, attempts, replay command) and, when it failed, the failure.
fn scenario_case(out: &mut String, scenario: &ScenarioResult) {
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\">",
        escape(&scenario.feature),
        escape(&scenario.name),
        escape(&scenario.location),
        scenario.duration_ms / 1e3
    );
    let mut properties = vec![
        ("seed", scenario.seed.to_string()),
        ("system", scenario.system.clone()),
        ("location", scenario.location.clone()),
    ];
    if !scenario.tags.is_empty() {
        properties.push(("tags", scenario.tags.join(" ")));
    }
    if let Some(rule) = &scenario.rule {
        properties.push(("rule", rule.clone()));
    }
    if !scenario.attempts.is_empty() {
        properties.push(("attempts", (scenario.attempts.len() + 1).to_string()));
    }
    if !scenario.replay.is_empty() {
        properties.push(("replay", scenario.replay.clone()));
    }
    out.push_str("      <properties>");
    for (name, value) in properties {
        let _ = write!(
            out,
            "<property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    out.push_str("</properties>\n");
    match scenario.status {
        ScenarioStatus::Passed => {}
        ScenarioStatus::NoAssertion => {
            out.push_str("      <skipped message=\"no assertion: no Then step\"/>\n");
        }
        ScenarioStatus::NotApplicable => {
            let why = scenario.failure.clone().unwrap_or_default();
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(&why));
        }
        ScenarioStatus::Failed | ScenarioStatus::Skipped => {
            let message = scenario
                .failure
                .clone()
                .unwrap_or_else(|| format!("{:?}", scenario.status));
            let mut body = format!("{} (seed {})\n{message}", scenario.location, scenario.seed);
            for verdict in scenario.verdicts.iter().filter(|v| !v.passed) {
                body.push_str(&format!("\n{verdict}"));
            }
            if !scenario.replay.is_empty() {
                body.push_str(&format!("\nreplay: {}", scenario.replay));
            }
            let _ = writeln!(
                out,
                "      <failure message=\"{}\">{}</failure>",
                escape(message.lines().next().unwrap_or_default()),
                escape(&body)
            );
        }
    }
    if !scenario.attempts.is_empty() {
        let lines: Vec<String> = scenario
            .attempts
            .iter()
            .enumerate()
            .map(|(number, attempt)| {
                format!(
                    "attempt {} {} in {:.3} s: {}",
                    number + 1,
                    attempt.status.as_str(),
                    attempt.duration_ms / 1e3,
                    attempt.failure.as_deref().unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape(&lines.join("\n"))
        );
    }
    out.push_str("    </testcase>\n");
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
    let seconds: f64 = report.scenarios.iter().map(|s| s.duration_ms / 1e3).sum();
    let _ = writeln!(
        out,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">",
        report.scenarios.len()
    );
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "    <system-err>{}</system-err>",
            escape(&report.warnings.join("\n"))
        );
    }
    for scenario in &report.scenarios {
        scenario_case(&mut out, scenario);
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
