//! Every input in `fuzz/corpus/TARGET` goes through the parser its AFL++ target fuzzes, so
//! an input that once crashed (added there when found) is a regular test forever; then a
//! seeded mutation round feeds each parser thousands of damaged variants of its corpus. That
//! round is blind (no coverage feedback) and exists because CI cannot afford the instrumented
//! AFL++ build (about 7 minutes of a 2-core machine); `fuzz/run` does the coverage-guided
//! fuzzing, by hand or nightly.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::steps;

const TARGETS: &[&str] = &[
    "precheck", "ledger", "ingest", "adapter", "store", "journal", "history",
];

/// Damaged variants per corpus input in the mutation round.
const MUTANTS_PER_INPUT: usize = 150;

/// The mutation round's seed; a failure prints it with the target and the mutant's index.
const SEED: u64 = 0x5eed_f022;

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

/// One input through `target`'s parser, as its AFL++ target in `fuzz/src/lib.rs` hands it.
fn feed(target: &str, path: &Path, bytes: &[u8], entries: &[steps::catalogue::StepEntry]) {
    let text = String::from_utf8_lossy(bytes);
    match target {
        "precheck" => {
            let _ = steps::precheck::check_source(path, &text, entries);
        }
        "ledger" => {
            let _ = swarmspec::claims::ledger::Ledger::parse(&text, "x");
        }
        "ingest" => {
            let read = swarmspec::ingest::read(bytes, path).expect("in memory");
            let verdict = swarmspec::evidence::history::no_overlapping_holds(&read.spans);
            let _ = swarmspec::evidence::ingestion::qualified(verdict, &read.report);
            let _ = read.into_evidence();
            let guessing = swarmspec::ingest::mapping::Mapping::guessing();
            let _ = swarmspec::ingest::read_mapped(bytes, path, &guessing).expect("in memory");
            let _ = swarmspec::ingest::mapping_file::parse(&text, path, true);
        }
        "adapter" => {
            let _ = swarmspec::adapter::AdapterConfig::parse(&text, path);
        }
        "store" => {
            let Some((choice, content)) = bytes.split_first() else {
                return;
            };
            let dir = tempfile::tempdir().expect("temp dir");
            let names = [
                "work_claims.json",
                "agent_status.json",
                "coordination_log.json",
            ];
            std::fs::write(dir.path().join(names[*choice as usize % 3]), content).expect("write");
            if let Ok(store) = swarmspec::store::FileStore::open(dir.path(), 0, 1_000_000_000) {
                let _ = store.items();
            }
            let _ = swarmspec::store::audit::audit_dir(dir.path());
        }
        "journal" => {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join("work_claims.json"), "[]").expect("write");
            std::fs::write(dir.path().join(".work_claims.json.1.tmp"), "[]").expect("write");
            let journal = dir.path().join(swarmspec::store::journal::JOURNAL_FILE);
            std::fs::write(journal, bytes).expect("write");
            let _ = swarmspec::store::journal::recover(dir.path());
        }
        "history" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("history.jsonl");
            std::fs::write(&path, bytes).expect("write");
            let _ = swarmspec::report::history::read(&path);
        }
        other => panic!("no target {other}"),
    }
}

/// A damaged copy of `input`: flipped bits, bytes from a small set of structural characters,
/// deleted, duplicated or truncated ranges, or a splice with another corpus input.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    const STRUCTURAL: &[u8] = b"{}[]\":,=\n\t #|<>\\0-9.eE+\xff\x00";
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = out.len();
        match rng.gen_range(0..6) {
            0 if len > 0 => {
                let at = rng.gen_range(0..len);
                out[at] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                let at = rng.gen_range(0..=len);
                let byte = STRUCTURAL[rng.gen_range(0..STRUCTURAL.len())];
                out.insert(at, byte);
            }
            2 if len > 0 => {
                let from = rng.gen_range(0..len);
                let to = rng.gen_range(from..=len.min(from + 64));
                out.drain(from..to);
            }
            3 if len > 0 => {
                let from = rng.gen_range(0..len);
                let to = rng.gen_range(from..=len.min(from + 64));
                let copy = out[from..to].to_vec();
                let at = rng.gen_range(0..=len);
                out.splice(at..at, copy);
            }
            4 => out.truncate(rng.gen_range(0..=len)),
            _ if !other.is_empty() => {
                let cut = rng.gen_range(0..=len);
                let from = rng.gen_range(0..other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            _ => {}
        }
    }
    out
}

// Proves no corpus input panics a parser: pre-check, ledger, span files, adapter config,
// store files, journal and history.
#[test]
fn corpora_parse_without_panic() {
    let entries = steps::catalogue::catalogue();
    for target in TARGETS {
        for (path, bytes) in inputs(target) {
            feed(target, &path, &bytes, &entries);
        }
    }
}

// Proves no damaged variant of a corpus input panics its parser (blind mutation, seeded).
#[test]
fn mutated_corpora_parse_without_panic() {
    let entries = steps::catalogue::catalogue();
    for target in TARGETS {
        let corpus = inputs(target);
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        for (index, (path, bytes)) in corpus.iter().enumerate() {
            let other = &corpus[(index + 1) % corpus.len()].1;
            for mutant in 0..MUTANTS_PER_INPUT {
                let damaged = mutate(&mut rng, bytes, other);
                let fed = std::panic::catch_unwind(|| feed(target, path, &damaged, &entries));
                if fed.is_err() {
                    let kept = std::env::temp_dir().join(format!("swarmspec-fuzz-{target}"));
                    let _ = std::fs::write(&kept, &damaged);
                    panic!(
                        "target {target}, mutant {mutant} of {} (seed {SEED:#x}) panicked; \
                         input kept at {}: add it to fuzz/corpus/{target}",
                        path.display(),
                        kept.display()
                    );
                }
            }
        }
    }
}
