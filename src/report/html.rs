//! One self-contained HTML page (no scripts, no network): summary, claims, the kill matrix
//! (when mutants ran), latency percentiles per operation, claims per second over time, a
//! span timeline, and scenarios.
//! Charts are inline SVG drawn here.

use std::fmt::Write as _;

use super::junit::escape;
use super::model::{OperationLatency, RunReport, ScenarioResult};
use crate::claims::ClaimStatus;

const CHART_WIDTH_PX: f64 = 640.0;

fn status_class(status: ClaimStatus) -> &'static str {
    match status {
        ClaimStatus::Verified => "ok",
        ClaimStatus::Refuted | ClaimStatus::Regression => "bad",
        ClaimStatus::Unverified => "unknown",
    }
}

/// The page.
pub fn render(report: &RunReport) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>swarmspec — {id}</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}}.ok{{color:#176f2c;font-weight:bold}}\
.bad{{color:#b00020;font-weight:bold}}.unknown{{color:#8a6d00;font-weight:bold}}.cards span{{display:inline-block;\
margin-right:1.5em;font-size:18px}}tr.detail>td{{border-top:none;background:#fcfcfc}}\
pre.failure{{white-space:pre-wrap;background:#fff4f4;padding:6px}}table.verdicts td{{vertical-align:top}}svg{{background:#fafafa;border:1px solid #ddd;margin:0.5em 0}}</style></head><body>\
<h1>swarmspec verify</h1><p>Run <code>{id}</code> on {cores} cores ({os}/{arch}); ledger <code>{ledger}</code>.</p>",
        id = escape(&report.run.run_id),
        cores = report.run.machine.cores,
        os = escape(&report.run.machine.os),
        arch = escape(&report.run.machine.arch),
        ledger = escape(&report.run.ledger),
    );
    let s = &report.summary;
    let _ = write!(
        page,
        "<div class=\"cards\" id=\"summary\"><span class=\"{}\">{}</span><span>scenarios {}/{} passed</span>\
<span class=\"ok\">{} verified</span><span class=\"bad\">{} refuted</span><span class=\"unknown\">{} unverified</span>\
<span class=\"bad\">{} regressed</span></div>",
        if report.passed(false) { "ok" } else { "bad" },
        if report.passed(false) { "PASS" } else { "FAIL" },
        s.scenarios_passed,
        s.scenarios,
        s.claims_verified,
        s.claims_refuted,
        s.claims_unverified,
        s.claims_regressed
    );
    claims_table(&mut page, report);
    mutants_section(&mut page, report);
    latency_section(&mut page, report);
    throughput_section(&mut page, report);
    super::timeline_html::section(&mut page, report);
    super::scenarios_html::warnings(&mut page, report);
    super::scenarios_html::table(&mut page, report);
    page.push_str("</body></html>\n");
    page
}

fn claims_table(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Claims</h2><table id=\"claims\"><tr><th>claim</th><th>status</th><th>observed</th><th>expected</th><th>conditions</th><th>statement</th><th>evidence</th></tr>");
    for claim in &report.claims {
        let observed = claim.observed.map_or("—".to_owned(), |v| {
            format!("{} {}", crate::claims::format_value(v), claim.unit)
        });
        let counted = claim
            .measurements
            .iter()
            .filter(|m| m.left_out.is_none())
            .count();
        let items: String = claim
            .evidence
            .iter()
            .map(|line| format!("<li>{}</li>", escape(line)))
            .collect();
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td><details><summary>{counted} counted, {} left out</summary><ul>{items}</ul></details></td></tr>",
            escape(&claim.id),
            status_class(claim.status),
            claim.status.as_str(),
            escape(&observed),
            escape(&claim.expected),
            escape(&claim.unit),
            escape(&claim.conditions.join(", ")),
            escape(&claim.statement),
            claim.measurements.len() - counted
        );
    }
    page.push_str("</table>");
}

/// Per operation, the real-clock scenario with the most samples.
fn busiest_latencies(report: &RunReport) -> Vec<(&ScenarioResult, &OperationLatency)> {
    let mut chosen: Vec<(&ScenarioResult, &OperationLatency)> = Vec::new();
    for scenario in report
        .scenarios
        .iter()
        .filter(|s| s.mode.as_deref() == Some("throughput"))
    {
        // Submissions are bookkeeping at an instant, not a timed call: nothing to chart.
        for op in scenario
            .latencies
            .iter()
            .filter(|op| op.op != "work.submit")
        {
            match chosen.iter_mut().find(|(_, o)| o.op == op.op) {
                Some(slot) if slot.1.count < op.count => *slot = (scenario, op),
                Some(_) => {}
                None => chosen.push((scenario, op)),
            }
        }
    }
    chosen
}

fn latency_section(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Latency percentiles (real clock)</h2><div id=\"latency-charts\">");
    let chosen = busiest_latencies(report);
    if chosen.is_empty() {
        page.push_str("<p>No real-clock run in this report.</p>");
    }
    for (scenario, op) in chosen {
        let bars = [
            ("p50", op.p50_ms),
            ("p95", op.p95_ms),
            ("p99", op.p99_ms),
            ("max", op.max_ms),
        ];
        // Log scale from 1 ns to the largest bar, so ns, µs and ms figures share one chart.
        let floor_ms = 1e-6;
        let top = bars
            .iter()
            .map(|b| b.1)
            .fold(floor_ms * 10.0, f64::max)
            .log10()
            - floor_ms.log10();
        let _ = write!(
            page,
            "<h3><code>{}</code> — {} samples, from «{}»</h3><svg width=\"{CHART_WIDTH_PX}\" height=\"110\" role=\"img\">",
            escape(&op.op),
            op.count,
            escape(&scenario.name)
        );
        for (row, (label, value_ms)) in bars.iter().enumerate() {
            let share = ((value_ms.max(floor_ms)).log10() - floor_ms.log10()) / top;
            let width = (share * (CHART_WIDTH_PX - 200.0)).max(1.0);
            let y = 8 + row * 25;
            let _ = write!(
                page,
                "<text x=\"6\" y=\"{}\" font-size=\"12\">{label}</text><rect x=\"50\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" fill=\"#4a78b5\"/>\
<text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}</text>",
                y + 13,
                56.0 + width,
                y + 13,
                super::units::duration(*value_ms)
            );
        }
        page.push_str("</svg>");
    }
    page.push_str("</div>");
}

fn throughput_section(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Claims per second over time</h2><div id=\"throughput-chart\">");
    let busiest = report
        .scenarios
        .iter()
        .filter(|s| !s.throughput_series.is_empty())
        .max_by(|a, b| {
            let total = |s: &ScenarioResult| s.throughput_series.iter().map(|p| p.1).sum::<f64>();
            total(a).total_cmp(&total(b))
        });
    let Some(scenario) = busiest else {
        page.push_str("<p>No real-clock run in this report.</p></div>");
        return;
    };
    let series = &scenario.throughput_series;
    let peak = series.iter().map(|p| p.1).fold(1.0, f64::max);
    let last_s = series.last().map_or(1.0, |p| p.0).max(1e-9);
    let height = 160.0;
    let points: Vec<String> = series
        .iter()
        .map(|(t, rate)| {
            let x = 50.0 + t / last_s * (CHART_WIDTH_PX - 70.0);
            let y = 10.0 + (1.0 - rate / peak) * (height - 30.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        page,
        "<p>From «{}»; peak {peak:.0} claims/s.</p><svg width=\"{CHART_WIDTH_PX}\" height=\"{height}\" role=\"img\">\
<polyline fill=\"none\" stroke=\"#b5534a\" stroke-width=\"2\" points=\"{}\"/><text x=\"4\" y=\"16\" font-size=\"11\">{peak:.0}/s</text>\
<text x=\"4\" y=\"{}\" font-size=\"11\">0</text><text x=\"{}\" y=\"{}\" font-size=\"11\">{last_s:.3} s</text></svg></div>",
        escape(&scenario.name),
        points.join(" "),
        height - 20.0,
        CHART_WIDTH_PX - 70.0,
        height - 4.0
    );
}

/// The kill matrix, when the run had one: a row per mutant, the scenarios that killed it.
fn mutants_section(page: &mut String, report: &RunReport) {
    let Some(matrix) = &report.mutants else {
        return;
    };
    page.push_str("<h2>Planted defects (kill matrix)</h2><table id=\"mutants\"><tr><th>mutant</th><th>defect</th><th>status</th><th>killed by</th></tr>");
    for run in &matrix.runs {
        let (class, status) = if run.survived() {
            ("bad", "SURVIVED")
        } else {
            ("ok", "killed")
        };
        let killers: Vec<String> = run
            .killed_by
            .iter()
            .map(|kill| {
                format!(
                    "<li>{} <small>{}</small></li>",
                    escape(&kill.scenario),
                    escape(&kill.failure)
                )
            })
            .collect();
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"{class}\">{status}</td><td><ul>{}</ul></td></tr>",
            escape(&run.mutant),
            escape(&run.defect),
            killers.concat()
        );
    }
    page.push_str("</table>");
}
