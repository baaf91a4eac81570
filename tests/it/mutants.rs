//! `swarmspec verify --mutants` end to end: the shipped features kill every shipped mutant
//! of the reference engine, and the kill matrix is printed and lands in `report.json`.
//!
//! Only the features that drive the memory engine run (coordination, resilience): the
//! others never reach the code a mutant changes, so they could not kill one, and every
//! kill found on this subset is a kill of the whole suite too.

use std::path::PathBuf;
use std::process::Command;

use swarmspec::coordination::Mutant;

/// Feature files that run swarms on the memory engine.
const ENGINE_FEATURES: [&str; 2] = ["coordination.feature", "resilience.feature"];

fn workspace() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmspec-mutants-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("features")).expect("temp dir");
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("features");
    for name in ENGINE_FEATURES {
        std::fs::copy(shipped.join(name), dir.join("features").join(name)).expect("feature");
    }
    dir
}

// Proves every shipped mutant is killed by at least one shipped scenario that passes on the
// correct engine, and that the matrix is in the report.
#[test]
fn every_shipped_mutant_is_killed() {
    let dir = workspace();
    let ledger = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("claims.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .current_dir(&dir)
        .args([
            "verify",
            "--mutants",
            "--out",
            "out",
            "--history",
            "out/history.jsonl",
        ])
        .arg("--ledger")
        .arg(&ledger)
        .output()
        .expect("swarmspec runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("kill matrix"), "{stdout}\n{stderr}");
    let report = std::fs::read_to_string(dir.join("out/report.json")).expect("report.json");
    let report: serde_json::Value = serde_json::from_str(&report).expect("report parses");
    let runs = report["mutants"]["runs"].as_array().expect("a kill matrix");
    let names: Vec<&str> = runs.iter().filter_map(|r| r["mutant"].as_str()).collect();
    let shipped: Vec<&str> = Mutant::all().iter().map(|m| m.name()).collect();
    assert_eq!(names, shipped, "every shipped mutant ran, in order");
    let survivors: Vec<&str> = runs
        .iter()
        .filter(|run| run["killed_by"].as_array().is_none_or(Vec::is_empty))
        .filter_map(|run| run["mutant"].as_str())
        .collect();
    assert!(survivors.is_empty(), "survivors {survivors:?}\n{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
