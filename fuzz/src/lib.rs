//! The fuzz targets: each hands arbitrary bytes to one parser exactly as swarmspec's own
//! entry point would (a file in a directory where the parser reads a path), and ignores the
//! result. A target only fails by panicking, which no input may cause.

use std::path::Path;
use std::sync::OnceLock;

// The feature pre-check and the step catalogue it judges against come from the library
// (`swarmspec::steps`, the default `steps` feature), exactly as `swarmspec verify` runs them.
use swarmspec::steps::{catalogue, precheck, step_match};

/// A target: one input, no result.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/run` and `fuzz/corpus/NAME` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("precheck", precheck),
    ("ledger", ledger),
    ("ingest", ingest),
    ("adapter", adapter),
    ("store", store),
    ("journal", journal),
    ("history", history),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A fresh directory per input: targets that read paths must not see the last input's files.
fn scratch() -> Option<tempfile::TempDir> {
    tempfile::tempdir().ok()
}

/// A feature file through the pre-check: syntax errors, keywords, parameters, unknown steps.
pub fn precheck(data: &[u8]) {
    static ENTRIES: OnceLock<Vec<catalogue::StepEntry>> = OnceLock::new();
    static MATCHER: OnceLock<step_match::Matcher<'static>> = OnceLock::new();
    let matcher =
        MATCHER.get_or_init(|| step_match::Matcher::new(ENTRIES.get_or_init(catalogue::catalogue)));
    let _ = precheck::check_with(Path::new("fuzz.feature"), &text(data), matcher);
}

/// A claims ledger (`claims.toml`).
pub fn ledger(data: &[u8]) {
    let _ = swarmspec::claims::ledger::Ledger::parse(&text(data), "fuzz.toml");
}

/// A span file (span log and OTLP JSON, mixed), then the checks every span file gets.
pub fn ingest(data: &[u8]) {
    let Ok(read) = swarmspec::ingest::read(data, Path::new("fuzz.jsonl")) else {
        return;
    };
    let verdict = swarmspec::evidence::history::no_overlapping_holds(&read.spans);
    let _ = swarmspec::evidence::ingestion::qualified(verdict, &read.report);
    let _ = read.into_evidence();
    // `spans check` reads with guessing on: statuses are rewritten while reading.
    let guessing = swarmspec::ingest::mapping::Mapping::guessing();
    let _ = swarmspec::ingest::read_mapped(data, Path::new("fuzz.jsonl"), &guessing);
    let _ = swarmspec::ingest::mapping_file::parse(&text(data), Path::new("fuzz.toml"), true);
}

/// An external-command adapter config.
pub fn adapter(data: &[u8]) {
    let _ = swarmspec::adapter::AdapterConfig::parse(&text(data), Path::new("fuzz/adapter.toml"));
}

/// One of the store's three files (chosen by the first byte), read as `run --attach` and
/// `audit-store` read them.
pub fn store(data: &[u8]) {
    use swarmspec::store::layout::{AGENT_STATUS_FILE, COORDINATION_LOG_FILE, WORK_CLAIMS_FILE};
    let Some((choice, content)) = data.split_first() else {
        return;
    };
    let Some(dir) = scratch() else { return };
    let file = [WORK_CLAIMS_FILE, AGENT_STATUS_FILE, COORDINATION_LOG_FILE][*choice as usize % 3];
    if std::fs::write(dir.path().join(file), content).is_err() {
        return;
    }
    if let Ok(store) = swarmspec::store::FileStore::open(dir.path(), 0, 1_000_000_000) {
        let _ = store.items();
    }
    let _ = swarmspec::store::audit::audit_dir(dir.path());
}

/// A redo journal left by a dead writer, recovered in a store directory with files and a
/// temp file in it.
pub fn journal(data: &[u8]) {
    use swarmspec::store::journal::{recover, JOURNAL_FILE};
    // Recovery refuses any entry outside the store's own files (issue 14, defect 1), so
    // hostile journals naming `../../x` are fuzzed too: a crash or an escape is a bug.
    let Some(dir) = scratch() else { return };
    let files = [
        ("work_claims.json", "[]"),
        (".work_claims.json.1.2.3.tmp", "[]"),
        ("agent_status.json", "[]"),
    ];
    for (name, content) in files {
        if std::fs::write(dir.path().join(name), content).is_err() {
            return;
        }
    }
    if std::fs::write(dir.path().join(JOURNAL_FILE), data).is_err() {
        return;
    }
    let _ = recover(dir.path());
}

/// A `history.jsonl`.
pub fn history(data: &[u8]) {
    let Some(dir) = scratch() else { return };
    let path = dir.path().join("history.jsonl");
    if std::fs::write(&path, data).is_ok() {
        let _ = swarmspec::report::history::read(&path);
    }
}
