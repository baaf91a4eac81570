//! Markdown for a pull-request comment: the summary, the claims table, failed scenarios.
//!
//! `render_body` holds everything that depends only on the evidence (no run id, no time, no
//! paths), so a seeded deterministic run renders the same body on every machine.

use std::fmt::Write as _;

use super::model::{RunReport, ScenarioResult, ScenarioStatus};

/// `text` safe as Markdown prose (a table cell included): `<` and `&`, which begin raw HTML
/// and entities (GitHub renders both in a PR comment), become entities; `|` cannot end a
/// table cell, and a newline cannot end a line or a table row.
fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one code span: fenced by one backtick more than its longest run of them (so a
/// backtick inside cannot end the span and let the rest be read as HTML), `|` escaped for
/// tables and newlines flattened.
fn code(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    let body = text.replace('|', "\\|").replace(['\n', '\r'], " ");
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// The whole document: a header naming the run, then the body.
pub fn render(report: &RunReport) -> String {
    let run = &report.run;
    let mut out = format!(
        "# swarmspec verify — run {}\n\nMachine: {} cores, {}/{}. Ledger: {}.",
        text(&run.run_id),
        run.machine.cores,
        text(&run.machine.os),
        text(&run.machine.arch),
        code(&run.ledger)
    );
    if let Some(seed) = run.seed_override {
        let _ = write!(out, " Seed: {seed}.");
    }
    if let Some(tags) = &run.tags {
        let _ = write!(out, " Tags: {}.", code(tags));
    }
    out.push_str("\n\n");
    out.push_str(&render_body(report));
    render_durations(&mut out, report);
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
    if s.scenarios_not_applicable > 0 {
        out.push_str(&format!(
            "{} scenario(s) were not applicable to the system under test (listed below with why).\n\n",
            s.scenarios_not_applicable
        ));
    }
    out.push_str("## Claims\n\n| claim | status | observed | expected | statement |\n|---|---|---|---|---|\n");
    for claim in &report.claims {
        let _ = writeln!(
            out,
            "| {} | **{}**{} | {} | {} {} | {} |",
            code(&claim.id),
            claim.status.as_str(),
            if claim.status == crate::claims::ClaimStatus::Refuted
                && claim.known_shortfall.is_some()
            {
                " (known shortfall)"
            } else {
                ""
            },
            text(&observed_text(claim.observed, &claim.unit)),
            text(&claim.expected),
            text(&claim.unit),
            text(&claim.statement)
        );
    }
    render_decisions(&mut out, report);
    render_warnings(&mut out, report);
    render_scenarios(&mut out, report);
    out
}

/// Problems found in the feature files before the run (unknown steps above all).
fn render_warnings(out: &mut String, report: &RunReport) {
    if report.warnings.is_empty() {
        return;
    }
    out.push_str("\n## Warnings\n\n");
    for warning in &report.warnings {
        let _ = writeln!(out, "- {}", code(warning));
    }
}

/// Evidence lines shown per failed verdict; the JSON report has them all.
const EVIDENCE_SHOWN_MAX: usize = 6;

/// One scenario: where it is written, its tags and rule, every verdict (evidence for the
/// failed ones), the failure text, earlier attempts and the replay command.
fn render_scenario(out: &mut String, scenario: &ScenarioResult) {
    let _ = writeln!(
        out,
        "- **{}** {} › {} — {} (seed {})",
        scenario.status.as_str(),
        text(&scenario.feature),
        text(&scenario.name),
        code(&scenario.location),
        scenario.seed
    );
    if let Some(rule) = &scenario.rule {
        let _ = writeln!(out, "  - rule: {}", text(rule));
    }
    if !scenario.tags.is_empty() {
        let tags: Vec<String> = scenario.tags.iter().map(|t| format!("@{t}")).collect();
        let _ = writeln!(out, "  - tags: {}", code(&tags.join(" ")));
    }
    for verdict in &scenario.verdicts {
        let _ = writeln!(
            out,
            "  - {} {}: expected {}; observed {}",
            if verdict.passed { "PASS" } else { "FAIL" },
            text(&verdict.check),
            text(&verdict.expected),
            text(&verdict.observed)
        );
        if !verdict.passed {
            for line in verdict.evidence.iter().take(EVIDENCE_SHOWN_MAX) {
                let _ = writeln!(out, "    - {}", text(line));
            }
        }
    }
    if scenario.status != ScenarioStatus::Passed {
        if let Some(failure) = &scenario.failure {
            for line in failure.lines().take(6) {
                let _ = writeln!(out, "  > {}", text(line));
            }
        }
    }
    for (number, attempt) in scenario.attempts.iter().enumerate() {
        let _ = writeln!(
            out,
            "  - attempt {}: {} — {}",
            number + 1,
            attempt.status.as_str(),
            text(attempt.failure.as_deref().unwrap_or_default())
        );
    }
    if !scenario.replay.is_empty() && scenario.status != ScenarioStatus::Passed {
        let _ = writeln!(out, "  - replay: {}", code(&scenario.replay));
    }
}

/// Scenarios that did not pass in full; the passed ones folded under one `<details>`.
fn render_scenarios(out: &mut String, report: &RunReport) {
    let (passed, other): (Vec<_>, Vec<_>) = report
        .scenarios
        .iter()
        .partition(|sc| sc.status == ScenarioStatus::Passed);
    out.push_str("\n## Scenarios\n\n");
    if other.is_empty() {
        let _ = writeln!(out, "All {} scenarios passed.", report.scenarios.len());
    }
    for scenario in other {
        render_scenario(out, scenario);
    }
    if !passed.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} passed scenario(s)</summary>\n",
            passed.len()
        );
        for scenario in passed {
            render_scenario(out, scenario);
        }
        out.push_str("\n</details>\n");
    }
}

/// Wall-clock time per scenario: outside `render_body`, since it differs run to run.
fn render_durations(out: &mut String, report: &RunReport) {
    out.push_str("\n## Durations\n\n| scenario | where | time |\n|---|---|---|\n");
    for scenario in &report.scenarios {
        let retried = match scenario.attempts.len() {
            0 => String::new(),
            n => format!(" ({} attempts)", n + 1),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} s{retried} |",
            text(&scenario.name),
            code(&scenario.location),
            scenario.duration_ms / 1e3
        );
    }
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
            "\n- {} — conditions: {}; decided by {} scenario(s), {} left out",
            code(&claim.id),
            text(&conditions),
            counted.len(),
            left.len()
        );
        if claim.observed.is_none() {
            if let Some(reason) = claim.evidence.first() {
                let _ = writeln!(out, "  - {}", text(reason));
            }
        }
        for m in counted.iter().take(LEFT_OUT_SHOWN_MAX) {
            let _ = writeln!(
                out,
                "  - counted: {} = {}",
                text(&m.scenario),
                observed_text(m.value, &claim.unit)
            );
        }
        for m in left.iter().take(LEFT_OUT_SHOWN_MAX) {
            let _ = writeln!(
                out,
                "  - left out: {} = {} ({})",
                text(&m.scenario),
                observed_text(m.value, &claim.unit),
                text(m.left_out.as_deref().unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A report whose run id, ledger, claim id and statement all carry markup.
    fn hostile_report() -> RunReport {
        let claim = serde_json::json!({
            "id": "c`<b>x</b>", "statement": "<img src=x onerror=alert(1)> & more",
            "metric": "m", "unit": "ops/s", "expected": ">= 1", "observed": null,
            "status": "Unverified", "evidence": [],
        });
        serde_json::from_value(serde_json::json!({
            "run": {
                "run_id": "<script>alert(1)</script>", "started_unix_s": 0,
                "seed_override": null, "tags": null, "ledger": "a`<i>b</i>",
                "features": "f", "machine": {"cores": 1, "os": "linux", "arch": "x"},
            },
            "summary": crate::report::Summary::default(),
            "claims": [claim],
            "scenarios": [],
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    // Proves no HTML tag from a name, id or statement reaches report.md as markup: `<` is
    // an entity outside code spans, and a backtick inside an id cannot end its code span.
    #[test]
    fn names_cannot_inject_html() {
        let markdown = render(&hostile_report());
        for raw in ["<script>", "<img", "& more"] {
            assert!(!markdown.contains(raw), "«{raw}» in:\n{markdown}");
        }
        assert!(markdown.contains("``c`<b>x</b>``"), "{markdown}");
        assert!(markdown.contains("``a`<i>b</i>``"), "{markdown}");
        assert_eq!(text("a|b\nc"), "a\\|b c");
    }
}
