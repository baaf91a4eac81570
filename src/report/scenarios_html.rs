//! The HTML report's scenario table: a row per scenario (status, where it is written, tags,
//! rule, seed, duration, verdicts), and under it an expandable `<details>` holding every
//! verdict with its expected, observed and evidence, the failure text, earlier attempts and
//! the replay command.

use std::fmt::Write as _;

use super::junit::escape;
use super::model::{RunReport, ScenarioResult, ScenarioStatus};
use super::units;

fn status_class(status: ScenarioStatus) -> &'static str {
    match status {
        ScenarioStatus::Passed => "ok",
        ScenarioStatus::NoAssertion | ScenarioStatus::NotApplicable => "unknown",
        ScenarioStatus::Failed | ScenarioStatus::Skipped => "bad",
    }
}

/// Problems found in the feature files before the run, when there were any.
pub fn warnings(page: &mut String, report: &RunReport) {
    if report.warnings.is_empty() {
        return;
    }
    page.push_str("<h2>Warnings</h2><ul id=\"warnings\">");
    for warning in &report.warnings {
        let _ = write!(page, "<li><code>{}</code></li>", escape(warning));
    }
    page.push_str("</ul>");
}

/// The scenario table.
pub fn table(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Scenarios</h2><table id=\"scenarios\"><tr><th>feature</th><th>scenario</th><th>status</th><th>where</th><th>seed</th><th>time</th><th>verdicts</th></tr>");
    for scenario in &report.scenarios {
        row(page, scenario);
    }
    page.push_str("</table>");
}

fn row(page: &mut String, scenario: &ScenarioResult) {
    let passed = scenario.verdicts.iter().filter(|v| v.passed).count();
    let retried = match scenario.attempts.len() {
        0 => String::new(),
        n => format!(" ({} attempts)", n + 1),
    };
    let _ = write!(
        page,
        "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}{retried}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{passed}/{} passed</td></tr>",
        escape(&scenario.feature),
        escape(&scenario.name),
        status_class(scenario.status),
        scenario.status.as_str(),
        escape(&scenario.location),
        scenario.seed,
        units::duration(scenario.duration_ms),
        scenario.verdicts.len()
    );
    let open = if scenario.status == ScenarioStatus::Passed {
        ""
    } else {
        " open"
    };
    let _ = write!(
        page,
        "<tr class=\"detail\"><td colspan=\"7\"><details{open}><summary>details</summary>"
    );
    details(page, scenario);
    page.push_str("</details></td></tr>");
}

fn details(page: &mut String, scenario: &ScenarioResult) {
    let tags: Vec<String> = scenario.tags.iter().map(|t| format!("@{t}")).collect();
    let _ = write!(
        page,
        "<p>Tags: <code>{}</code>{}. System: <code>{}</code>.</p>",
        escape(&tags.join(" ")),
        scenario
            .rule
            .as_ref()
            .map(|r| format!(". Rule: {}", escape(r)))
            .unwrap_or_default(),
        escape(&scenario.system)
    );
    if !scenario.verdicts.is_empty() {
        page.push_str("<table class=\"verdicts\"><tr><th>check</th><th>result</th><th>expected</th><th>observed</th><th>evidence</th></tr>");
        for verdict in &scenario.verdicts {
            let evidence: String = verdict
                .evidence
                .iter()
                .map(|line| format!("<li>{}</li>", escape(line)))
                .collect();
            let _ = write!(
                page,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td><ul>{evidence}</ul></td></tr>",
                escape(&verdict.check),
                if verdict.passed { "ok" } else { "bad" },
                if verdict.passed { "PASS" } else { "FAIL" },
                escape(&verdict.expected),
                escape(&verdict.observed)
            );
        }
        page.push_str("</table>");
    }
    if let Some(failure) = &scenario.failure {
        let _ = write!(page, "<pre class=\"failure\">{}</pre>", escape(failure));
    }
    if !scenario.attempts.is_empty() {
        page.push_str("<p>Earlier attempts:</p><ol class=\"attempts\">");
        for attempt in &scenario.attempts {
            let _ = write!(
                page,
                "<li>{} in {}: {}</li>",
                attempt.status.as_str(),
                units::duration(attempt.duration_ms),
                escape(attempt.failure.as_deref().unwrap_or_default())
            );
        }
        page.push_str("</ol>");
    }
    if !scenario.replay.is_empty() {
        let _ = write!(
            page,
            "<p>Replay: <code class=\"replay\">{}</code></p>",
            escape(&scenario.replay)
        );
    }
}
