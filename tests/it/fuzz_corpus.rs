//! Every input in `fuzz/corpus/TARGET` goes through the parser its AFL++ target fuzzes, so
//! an input that once crashed (added there when found) is a regular test forever; `fuzz/run`
//! does the fuzzing itself.

use std::path::{Path, PathBuf};

use super::steps;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut found: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .map(|path| {
            let bytes = std::fs::read(&path).expect("corpus file readable");
            (path, bytes)
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no corpus for {target}");
    found
}

// Proves no corpus input panics a parser: pre-check, ledger, span files, adapter config,
// store files, journal and history.
#[test]
fn corpora_parse_without_panic() {
    let entries = steps::catalogue::catalogue();
    for (path, bytes) in inputs("precheck") {
        let text = String::from_utf8_lossy(&bytes);
        let _ = steps::precheck::check_source(&path, &text, &entries);
    }
    for (_, bytes) in inputs("ledger") {
        let _ = swarmspec::claims::ledger::Ledger::parse(&String::from_utf8_lossy(&bytes), "x");
    }
    for (path, bytes) in inputs("ingest") {
        let read = swarmspec::ingest::read(bytes.as_slice(), &path).expect("in memory");
        let verdict = swarmspec::evidence::history::no_overlapping_holds(&read.spans);
        let _ = swarmspec::evidence::ingestion::qualified(verdict, &read.report);
        let guessing = swarmspec::ingest::mapping::Mapping::guessing();
        let _ =
            swarmspec::ingest::read_mapped(bytes.as_slice(), &path, &guessing).expect("in memory");
        let text = String::from_utf8_lossy(&bytes);
        let _ = swarmspec::ingest::mapping_file::parse(&text, &path, true);
    }
    for (path, bytes) in inputs("adapter") {
        let _ = swarmspec::adapter::AdapterConfig::parse(&String::from_utf8_lossy(&bytes), &path);
    }
    for (_, bytes) in inputs("store") {
        let dir = tempfile::tempdir().expect("temp dir");
        let Some((choice, content)) = bytes.split_first() else {
            continue;
        };
        let names = [
            "work_claims.json",
            "agent_status.json",
            "coordination_log.json",
        ];
        std::fs::write(dir.path().join(names[*choice as usize % 3]), content).expect("write");
        let store = swarmspec::store::FileStore::open(dir.path(), 0, 1_000_000_000).expect("open");
        let _ = store.items();
        let _ = swarmspec::store::audit::audit_dir(dir.path());
    }
    for (_, bytes) in inputs("journal") {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("work_claims.json"), "[]").expect("write");
        std::fs::write(dir.path().join(".work_claims.json.1.tmp"), "[]").expect("write");
        let journal = dir.path().join(swarmspec::store::journal::JOURNAL_FILE);
        std::fs::write(journal, &bytes).expect("write");
        let _ = swarmspec::store::journal::recover(dir.path());
    }
    for (_, bytes) in inputs("history") {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, &bytes).expect("write");
        let _ = swarmspec::report::history::read(&path);
    }
}
