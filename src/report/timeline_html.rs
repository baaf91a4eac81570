//! The HTML report's span timeline: one lane per agent (labelled with its id), each span a
//! bar coloured by how it ended, labelled with its operation when the bar is wide enough,
//! a time axis with ticks, a legend, and a tooltip (`<title>`) per bar naming operation,
//! agent, item, outcome, start and duration.

use std::fmt::Write as _;

use super::junit::escape;
use super::model::{RunReport, TimelineSpan};
use super::units;

const CHART_WIDTH_PX: f64 = 960.0;
/// Lanes (agents) a timeline draws at most.
const LANES_MAX: usize = 24;
const LANE_PX: f64 = 22.0;
const LEFT_PX: f64 = 150.0;
const TOP_PX: f64 = 8.0;
/// Ticks on the time axis, about.
const TICKS: usize = 6;
/// A bar this wide or wider carries its operation's name.
const LABELLED_BAR_PX: f64 = 44.0;

/// Colours by outcome, and their legend words.
const COLOURS: [(&str, &str); 6] = [
    ("ok", "#2e7d32"),
    ("conflict", "#e0a100"),
    ("error", "#b00020"),
    ("handed off", "#7b3fa0"),
    ("released or reaped", "#6d6d6d"),
    ("other", "#4a78b5"),
];

/// The legend word of how `span` ended.
pub fn outcome_class(span: &TimelineSpan) -> &'static str {
    if span.error {
        return "error";
    }
    match span.outcome.as_deref() {
        Some("claimed" | "completed" | "ok" | "served" | "healthy" | "allowed") => "ok",
        Some("conflict" | "busy" | "held" | "denied" | "refused") => "conflict",
        Some("error" | "failed" | "timeout") => "error",
        Some("handed_off") => "handed off",
        Some("released" | "reaped") => "released or reaped",
        _ if span.name.ends_with(".release") || span.name.ends_with(".reap") => {
            "released or reaped"
        }
        _ if span.name.ends_with(".handoff") => "handed off",
        _ => "other",
    }
}

fn colour(class: &str) -> &'static str {
    COLOURS
        .iter()
        .find(|(word, _)| *word == class)
        .map_or("#4a78b5", |(_, colour)| colour)
}

/// A tick step of 1, 2 or 5 times a power of ten, giving about `TICKS` ticks over `span_ms`.
fn tick_step_ms(span_ms: f64) -> f64 {
    let raw = (span_ms / TICKS as f64).max(1e-9);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

/// The operation's short name: `work.claim` → `claim`.
fn short(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, last)| last)
}

/// The timeline of the first scenario tagged `@timeline`.
pub fn section(page: &mut String, report: &RunReport) {
    page.push_str("<h2>Span timeline</h2><div id=\"timeline\">");
    let Some(scenario) = report.scenarios.iter().find(|s| !s.timeline.is_empty()) else {
        page.push_str("<p>No scenario tagged <code>@timeline</code> ran.</p></div>");
        return;
    };
    let mut lanes: Vec<&str> = Vec::new();
    for span in &scenario.timeline {
        if !lanes.contains(&span.lane.as_str()) && lanes.len() < LANES_MAX {
            lanes.push(&span.lane);
        }
    }
    let end_ms = scenario
        .timeline
        .iter()
        .map(|s| s.start_ms + s.duration_ms)
        .fold(1e-6, f64::max);
    let axis_y = TOP_PX + lanes.len() as f64 * LANE_PX + 4.0;
    let height = axis_y + 44.0;
    let scale = (CHART_WIDTH_PX - LEFT_PX - 20.0) / end_ms;
    let _ = write!(
        page,
        "<p>«{}», {} spans over {}; lanes are agents (or components), bars are operations coloured by outcome; hover a bar for its operation, agent, item and outcome.</p>\
<svg width=\"{CHART_WIDTH_PX}\" height=\"{height:.0}\" role=\"img\" aria-label=\"span timeline\">",
        escape(&scenario.name),
        scenario.timeline.len(),
        units::duration(end_ms)
    );
    for (row, lane) in lanes.iter().enumerate() {
        let _ = write!(
            page,
            "<text class=\"lane\" x=\"4\" y=\"{:.1}\" font-size=\"10\">{}</text>",
            TOP_PX + 11.0 + row as f64 * LANE_PX,
            escape(&keep_end(lane, 24))
        );
    }
    for span in &scenario.timeline {
        let Some(row) = lanes.iter().position(|l| *l == span.lane) else {
            continue;
        };
        bar(page, span, row, scale);
    }
    axis(page, end_ms, scale, axis_y);
    legend(page, axis_y + 34.0);
    page.push_str("</svg></div>");
}

/// The last `chars_max` characters: agent ids differ at their end, not their start.
fn keep_end(text: &str, chars_max: usize) -> String {
    let count = text.chars().count();
    if count <= chars_max {
        return text.to_owned();
    }
    let kept: String = text.chars().skip(count + 1 - chars_max).collect();
    format!("…{kept}")
}

fn truncate(text: &str, chars_max: usize) -> String {
    if text.chars().count() <= chars_max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(chars_max.saturating_sub(1)).collect();
    format!("{kept}…")
}

fn bar(page: &mut String, span: &TimelineSpan, row: usize, scale: f64) {
    let class = outcome_class(span);
    let x = LEFT_PX + span.start_ms * scale;
    let y = TOP_PX + row as f64 * LANE_PX;
    let width = (span.duration_ms * scale).max(1.5);
    let item = span.item.as_deref().unwrap_or("—");
    let outcome =
        span.outcome
            .as_deref()
            .unwrap_or(if span.error { "error status" } else { "—" });
    let _ = write!(
        page,
        "<g class=\"span {}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"15\" fill=\"{}\">\
<title>{} — agent {}, item {item}, outcome {outcome}; starts at {}, takes {}</title></rect>",
        class.replace(' ', "-"),
        colour(class),
        escape(&span.name),
        escape(&span.lane),
        units::duration(span.start_ms),
        units::duration(span.duration_ms)
    );
    if width >= LABELLED_BAR_PX {
        let _ = write!(
            page,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#fff\" pointer-events=\"none\">{}</text>",
            x + 2.0,
            y + 11.0,
            escape(&truncate(short(&span.name), (width / 6.0) as usize))
        );
    }
    page.push_str("</g>");
}

fn axis(page: &mut String, end_ms: f64, scale: f64, y: f64) {
    let _ = write!(
        page,
        "<line x1=\"{LEFT_PX}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#444\"/>",
        LEFT_PX + end_ms * scale
    );
    let step = tick_step_ms(end_ms);
    let mut tick = 0.0;
    let mut drawn = 0;
    while tick <= end_ms * 1.0001 && drawn <= TICKS * 3 {
        let x = LEFT_PX + tick * scale;
        let _ = write!(
            page,
            "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\"/>\
<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            y + 4.0,
            y + 15.0,
            units::duration(tick)
        );
        tick += step;
        drawn += 1;
    }
    let _ = write!(
        page,
        "<text x=\"4\" y=\"{:.1}\" font-size=\"10\">time since the first span</text>",
        y + 15.0
    );
}

fn legend(page: &mut String, y: f64) {
    let mut x = LEFT_PX;
    for (word, fill) in COLOURS {
        let _ = write!(
            page,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{fill}\"/>\
<text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"10\">{word}</text>",
            y - 9.0,
            x + 13.0
        );
        x += 20.0 + word.len() as f64 * 6.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(name: &str, outcome: Option<&str>, error: bool) -> TimelineSpan {
        TimelineSpan {
            name: name.into(),
            lane: "agent-7".into(),
            start_ms: 0.5,
            duration_ms: 0.25,
            error,
            item: Some("item-3".into()),
            outcome: outcome.map(str::to_owned),
        }
    }

    // Proves outcomes map to the legend's colours (an error status wins over any outcome)
    // and ticks fall on 1-2-5 steps.
    #[test]
    fn outcomes_colour_and_ticks_step() {
        assert_eq!(
            outcome_class(&span("work.claim", Some("claimed"), false)),
            "ok"
        );
        assert_eq!(
            outcome_class(&span("work.claim", Some("conflict"), false)),
            "conflict"
        );
        assert_eq!(
            outcome_class(&span("work.claim", Some("claimed"), true)),
            "error"
        );
        assert_eq!(
            outcome_class(&span("work.handoff", None, false)),
            "handed off"
        );
        assert!((tick_step_ms(10.0) - 2.0).abs() < 1e-12);
        assert!((tick_step_ms(0.003) - 0.0005).abs() < 1e-12);
    }
}
