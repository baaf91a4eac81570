//! `swarmspec bench --quick` smoke: it runs and writes every section. Not timed: figures
//! depend on the machine, and benchmarks are not tests.

use std::process::Command;

// Proves the quick bench completes and its JSON holds every section the issue asks for,
// the cost curves included, and that bench.html draws them (in Chromium where present).
#[test]
fn quick_bench_writes_every_section() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .args(["bench", "--quick", "--curves", "--out"])
        .arg(&out)
        .output()
        .expect("the swarmspec binary runs");
    assert!(
        output.status.success(),
        "bench --quick failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("bench.json was written");
    let report: serde_json::Value = serde_json::from_str(&text).expect("bench.json is JSON");
    for section in ["plan", "baseline", "rows", "memory", "span_cost", "wall_s"] {
        assert!(report.get(section).is_some(), "no «{section}» in {text}");
    }
    let names: Vec<&str> = report["rows"]
        .as_array()
        .expect("rows is a list")
        .iter()
        .filter_map(|row| row["name"].as_str())
        .collect();
    for wanted in [
        "engine",
        "histogram capture",
        "compact store",
        "deterministic",
        "1 worker",
        "contention high",
    ] {
        assert!(
            names.iter().any(|n| n.contains(wanted)),
            "no row «{wanted}» in {names:?}"
        );
    }
    assert_eq!(report["memory"].as_array().map(Vec::len), Some(2));
    // The live-view row: both medians measured, and the client read events in every
    // watched run (else "watched" would be a swarm nobody subscribed to).
    let live = &report["live_overhead"];
    for side in ["unwatched", "watched"] {
        assert!(live[side]["median"].as_f64() > Some(0.0), "{live}");
    }
    assert!(live["ratio"].as_f64() > Some(0.0), "{live}");
    let pairs = live["pair_ratios"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        pairs.len(),
        3,
        "the quick plan's pairs, each a ratio: {live}"
    );
    assert!(pairs.iter().all(|r| r.as_f64() > Some(0.0)), "{live}");
    let snapshots = live["snapshots"].as_array().cloned().unwrap_or_default();
    assert!(
        snapshots.len() == 3 && snapshots.iter().all(|n| n.as_u64() >= Some(1)),
        "the checker took at least its after-the-end snapshot in every run: {live}"
    );
    let events = live["events_read"].as_array().cloned().unwrap_or_default();
    assert!(
        !events.is_empty() && events.iter().all(|e| e.as_u64() > Some(0)),
        "{live}"
    );
    assert!(
        stdout_has_ratio(&output.stdout),
        "the table shows ratios to the baseline"
    );
    check_curves(&report["curves"]);
    let page = dir.path().join("bench.html");
    let html = std::fs::read_to_string(&page).expect("bench.html beside bench.json");
    // Two curves, two charts each, every measured point a circle with a tooltip.
    assert_eq!(html.matches("<svg").count(), 4, "{html}");
    assert_eq!(html.matches("<circle").count(), 16, "{html}");
    assert!(
        !html.contains(" src=") && !html.contains(" href=") && !html.contains("<script"),
        "self-contained: nothing loaded from elsewhere, no scripts"
    );
    render_in_chromium(&page, dir.path());
}

/// Both curves measured every quick point with positive figures and got their exponents.
fn check_curves(curves: &serde_json::Value) {
    let list = curves["curves"]
        .as_array()
        .expect("curves.curves is a list");
    let axes: Vec<&str> = list.iter().filter_map(|c| c["axis"].as_str()).collect();
    assert_eq!(axes, ["agents", "items"]);
    for curve in list {
        let points = curve["points"].as_array().expect("points");
        assert_eq!(points.len(), 2, "{curve}");
        for point in points {
            for figure in ["ops_per_s", "wall_s", "rss_bytes_growth"] {
                let median = point[figure]["median"].as_f64().unwrap_or(0.0);
                assert!(median > 0.0, "{figure} of {point}");
            }
            assert!(point["raw_cas_claims_per_s"].as_f64().unwrap_or(0.0) > 0.0);
        }
        assert!(curve["slope_wall_time"].as_f64().is_some(), "{curve}");
        assert!(curve["slope_memory"].as_f64().is_some(), "{curve}");
    }
}

/// bench.html in headless Chromium: the rendered DOM has the charts and their points.
/// Skipped loudly where Chromium is absent, unless SWARMSPEC_REQUIRE_CHROMIUM is set.
fn render_in_chromium(page: &std::path::Path, dir: &std::path::Path) {
    let Some(browser) = super::verify::chromium() else {
        assert!(
            std::env::var_os("SWARMSPEC_REQUIRE_CHROMIUM").is_none(),
            "Chromium is required but absent"
        );
        eprintln!("SKIPPED: bench.html not rendered, no Chromium on this machine");
        return;
    };
    let url = format!("file://{}", page.display());
    let profile = dir.join("chromium-profile");
    let dom = super::verify::headless(&browser, &profile, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for id in [
        "agents-throughput",
        "agents-cost",
        "items-throughput",
        "items-cost",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "rendered DOM lacks {id}"
        );
    }
    assert_eq!(dom.matches("<circle").count(), 16, "rendered points");
}

fn stdout_has_ratio(stdout: &[u8]) -> bool {
    String::from_utf8_lossy(stdout).contains("× base")
}
