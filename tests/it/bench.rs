//! `swarmspec bench --quick` smoke: it runs and writes every section. Not timed: figures
//! depend on the machine, and benchmarks are not tests.

use std::process::Command;

// Proves the quick bench completes and its JSON holds every section the issue asks for.
#[test]
fn quick_bench_writes_every_section() {
    let out = std::env::temp_dir().join(format!("swarmspec-bench-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .args(["bench", "--quick", "--out"])
        .arg(&out)
        .output()
        .expect("the swarmspec binary runs");
    assert!(
        output.status.success(),
        "bench --quick failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("bench.json was written");
    let _ = std::fs::remove_file(&out);
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
    assert!(
        stdout_has_ratio(&output.stdout),
        "the table shows ratios to the baseline"
    );
}

fn stdout_has_ratio(stdout: &[u8]) -> bool {
    String::from_utf8_lossy(stdout).contains("× base")
}
