//! `reports/bench.html`: the cost curves as log-log SVG charts in one self-contained page (no
//! scripts, fonts or styles from elsewhere: it is read behind firewalls and in CI).
//!
//! On log-log axes a power law is a straight line whose steepness is its exponent, so a
//! linear cost and a quadratic one look different at a glance; the raw-CAS line shows how
//! far above the machine's limit each point sits.

use std::fmt::Write as _;

use super::curves::{Axis, Curve, CurvesReport};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const MARGIN_LEFT: f64 = 72.0;
const MARGIN_RIGHT: f64 = 160.0;
const MARGIN_TOP: f64 = 28.0;
const MARGIN_BOTTOM: f64 = 48.0;

/// One line of a chart.
struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `10` with the exponent as superscript digits.
fn decade_label(exponent: i32) -> String {
    const SUPERSCRIPTS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits: String = exponent
        .unsigned_abs()
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10).map(|d| SUPERSCRIPTS[d as usize]))
        .collect();
    format!("10{}{digits}", if exponent < 0 { "⁻" } else { "" })
}

/// The decades spanning every positive value of `values`, at least one wide.
fn decades(values: impl Iterator<Item = f64>) -> Option<(i32, i32)> {
    let logs: Vec<f64> = values.filter(|v| *v > 0.0).map(f64::log10).collect();
    let low = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let high = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if logs.is_empty() {
        return None;
    }
    let (low, high) = (low.floor() as i32, high.ceil() as i32);
    Some((low, high.max(low + 1)))
}

/// One log-log chart as SVG; `None` when no series has a positive point.
fn chart(id: &str, title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Option<String> {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (x_low, x_high) = decades(all().map(|p| p.0))?;
    let (y_low, y_high) = decades(all().map(|p| p.1))?;
    let plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let x_of =
        |x: f64| MARGIN_LEFT + (x.log10() - f64::from(x_low)) / f64::from(x_high - x_low) * plot_w;
    let y_of = |y: f64| {
        MARGIN_TOP + plot_h - (y.log10() - f64::from(y_low)) / f64::from(y_high - y_low) * plot_h
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"><title>{}</title>"#,
        escape(title)
    );
    for exponent in x_low..=x_high {
        let x = x_of(10f64.powi(exponent));
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{MARGIN_TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"##,
            MARGIN_TOP + plot_h,
            MARGIN_TOP + plot_h + 16.0,
            decade_label(exponent)
        );
    }
    for exponent in y_low..=y_high {
        let y = y_of(10f64.powi(exponent));
        let _ = write!(
            svg,
            r##"<line x1="{MARGIN_LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text>"##,
            MARGIN_LEFT + plot_w,
            MARGIN_LEFT - 6.0,
            y + 4.0,
            decade_label(exponent)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text><text x="16" y="{:.1}" text-anchor="middle" font-size="13" transform="rotate(-90 16 {:.1})">{}</text>"#,
        MARGIN_LEFT + plot_w / 2.0,
        HEIGHT - 8.0,
        escape(x_label),
        MARGIN_TOP + plot_h / 2.0,
        MARGIN_TOP + plot_h / 2.0,
        escape(y_label)
    );
    for (index, line) in series.iter().enumerate() {
        let positive: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
            .collect();
        let path: Vec<String> = positive
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", x_of(x), y_of(y)))
            .collect();
        let dash = if line.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<polyline class="series" points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            path.join(" "),
            line.colour
        );
        for &(x, y) in &positive {
            let _ = write!(
                svg,
                r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="4" fill="{}"><title>{}: {} at {}</title></circle>"#,
                x_of(x),
                y_of(y),
                line.colour,
                escape(line.name),
                figure(y),
                figure(x)
            );
        }
        let legend_y = MARGIN_TOP + 14.0 + 18.0 * index as f64;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="14" height="4" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
            MARGIN_LEFT + plot_w + 12.0,
            legend_y - 4.0,
            line.colour,
            MARGIN_LEFT + plot_w + 32.0,
            legend_y,
            escape(line.name)
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// A figure with three significant digits and an SI suffix.
fn figure(value: f64) -> String {
    let (scale, suffix) = match value.abs() {
        v if v >= 1e9 => (1e9, " G"),
        v if v >= 1e6 => (1e6, " M"),
        v if v >= 1e3 => (1e3, " k"),
        _ => (1.0, ""),
    };
    format!("{:.3}{suffix}", value / scale)
}

fn slope_text(slope: Option<f64>) -> String {
    slope.map_or_else(|| "—".into(), |s| format!("{s:.2}"))
}

fn axis_words(axis: Axis) -> (&'static str, &'static str) {
    match axis {
        Axis::Agents => ("agents", "items"),
        Axis::Items => ("items", "agents"),
    }
}

fn curve_section(curve: &Curve) -> String {
    let (varied, fixed) = axis_words(curve.axis);
    let size = |p: &super::curves::CurvePoint| p.size(curve.axis) as f64;
    let ops = Series {
        name: "swarm ops/s",
        colour: "#1f77b4",
        dashed: false,
        points: curve
            .points
            .iter()
            .map(|p| (size(p), p.ops_per_s.median))
            .collect(),
    };
    let cas = Series {
        name: "raw CAS claims/s",
        colour: "#7f7f7f",
        dashed: true,
        points: curve
            .points
            .iter()
            .map(|p| (size(p), p.raw_cas_claims_per_s))
            .collect(),
    };
    let memory = Series {
        name: "peak RSS growth",
        colour: "#d62728",
        dashed: false,
        points: curve
            .points
            .iter()
            .map(|p| (size(p), p.rss_bytes_growth.median))
            .collect(),
    };
    let wall = Series {
        name: "wall time, s",
        colour: "#2ca02c",
        dashed: false,
        points: curve
            .points
            .iter()
            .map(|p| (size(p), p.wall_s.median))
            .collect(),
    };
    let mut html = format!(
        "<section id=\"curve-{varied}\"><h2>Against {varied} ({} {fixed} fixed)</h2>\
         <p>Growth exponents (log-log slopes; 1.00 is linear): wall time \
         <b class=\"slope\">{}</b> over the curve, {} between its two largest points; peak \
         memory <b class=\"slope\">{}</b> over the curve, {} between its two largest \
         points.</p>",
        curve.fixed,
        slope_text(curve.slope_wall_time),
        slope_text(curve.slope_wall_time_tail),
        slope_text(curve.slope_memory),
        slope_text(curve.slope_memory_tail)
    );
    let charts = [
        chart(
            &format!("{varied}-throughput"),
            &format!("operations per second against {varied}"),
            varied,
            "per second",
            &[ops, cas],
        ),
        chart(
            &format!("{varied}-cost"),
            &format!("memory and time against {varied}"),
            varied,
            "bytes / seconds",
            &[memory, wall],
        ),
    ];
    for svg in charts.into_iter().flatten() {
        html.push_str(&svg);
    }
    for skipped in &curve.skipped {
        let _ = write!(
            html,
            "<p class=\"skipped\">{} {varied}: not run, {}</p>",
            skipped.size,
            escape(&skipped.reason)
        );
    }
    html.push_str("</section>");
    html
}

/// The whole page.
pub fn page(report: &CurvesReport) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>swarmspec bench: cost curves</title><style>body{font-family:sans-serif;\
         max-width:900px;margin:2em auto;color:#222}svg{display:block;margin:1em 0}\
         .skipped{color:#a60}</style></head><body><h1>Cost curves</h1>\
         <p>Each point is a fresh child process running a throughput swarm with every span \
         retained (median of the runs shown on hover). Axes are logarithmic.</p>",
    );
    for curve in &report.curves {
        html.push_str(&curve_section(curve));
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves decade labels carry their exponent as superscripts, negative ones included.
    #[test]
    fn decade_labels() {
        assert_eq!(decade_label(0), "10⁰");
        assert_eq!(decade_label(12), "10¹²");
        assert_eq!(decade_label(-3), "10⁻³");
    }

    // Proves a chart draws one circle per positive point and a tooltip for each.
    #[test]
    fn chart_draws_points() {
        let series = [Series {
            name: "a<b",
            colour: "#000",
            dashed: false,
            points: vec![(10.0, 5.0), (100.0, 50.0), (1000.0, 0.0)],
        }];
        let svg = chart("c", "t", "x", "y", &series).unwrap();
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("a&lt;b: 50.000 at 100.000"), "{svg}");
        assert!(chart("c", "t", "x", "y", &[]).is_none());
    }
}
