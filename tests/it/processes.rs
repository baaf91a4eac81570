//! A file store shared by OS processes: many workers racing on one directory, and a worker
//! killed with SIGKILL mid-run. Everything is judged from the span files the processes
//! wrote and the store's files, through the library's checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmspec::coordination::{Coordinator, Role, TeamId, WorkSpec};
use swarmspec::evidence::{history, Verdict};
use swarmspec::ingest;
use swarmspec::store::layout::{COORDINATION_LOG_FILE, WORK_CLAIMS_FILE};
use swarmspec::store::{acknowledged, audit, FileStore};
use swarmspec::swarm::processes::{self, SplitPlan};
use swarmspec::swarm::{Mode, SwarmConfig};
use swarmspec::telemetry::{SpanRecord, TimeBase};

const EXECUTABLE: &str = env!("CARGO_BIN_EXE_swarmspec");

fn check(verdict: Verdict) {
    assert!(verdict.passed, "{verdict}");
}

/// Every file of the store parses as a JSON array.
fn check_valid_json(dir: &Path) {
    for file in [WORK_CLAIMS_FILE, COORDINATION_LOG_FILE, "agent_status.json"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("store file readable");
        let parsed: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{file} is not valid JSON: {error}"));
        assert!(parsed.is_array(), "{file} is not an array");
    }
}

// Proves 8 processes of 50 agents racing on one file store hold no item twice, lose no
// acknowledged completion, leave valid JSON, and that every process took part.
#[test]
fn eight_processes_share_one_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = SwarmConfig::new(400, 64, 11);
    config.mode = Mode::Throughput;
    config.deadline = Duration::from_secs(120);
    let plan = SplitPlan {
        executable: PathBuf::from(EXECUTABLE),
        store: swarmspec::swarm::split_store::SplitStore::File(dir.path().to_path_buf()),
        spans_dir: dir.path().join(processes::SPANS_DIR),
        process_count: 8,
        config: config.clone(),
    };
    let run = processes::run(&plan, &AtomicU64::new(0)).expect("split run");
    for worker in &run.workers {
        let log = std::fs::read_to_string(&worker.log_path).unwrap_or_default();
        assert!(worker.succeeded(), "worker {}: {log}", worker.index);
        assert_eq!(worker.ingest.skipped_total, 0, "{}", worker.ingest);
    }
    let spans = &run.evidence.spans;
    check(history::no_overlapping_holds(spans));
    check(history::every_item_finished(spans, 0));
    check(audit::no_anomalies(dir.path()));
    check(acknowledged::no_lost_completions(spans, dir.path()));
    check(acknowledged::unexplained_completions_at_most(
        spans,
        dir.path(),
        0,
    ));
    check_valid_json(dir.path());
    // Every worker registered its 50 agents, and each one's claim attempts reached the store.
    let sessions = spans.iter().filter(|s| s.name == "agent.session").count();
    assert_eq!(sessions, 400);
    let claimers: BTreeSet<String> = spans
        .iter()
        .filter(|s| s.name == "work.claim")
        .filter_map(|s| s.attr_text("agent.id"))
        .collect();
    assert!(
        claimers.len() >= 8,
        "only {} agents claimed",
        claimers.len()
    );
}

/// Submits `count` single-stage items to a store in `dir`.
fn submit_items(dir: &Path, count: usize) {
    let store = FileStore::open(
        dir,
        TimeBase::wall_clock_now().epoch_unix_ns(),
        1_000_000_000,
    )
    .expect("store");
    let pipeline: Arc<[Role]> = vec![Role::Developer].into();
    for _ in 0..count {
        let spec = WorkSpec {
            work_type: "feature".into(),
            team: TeamId(0),
            pipeline: Arc::clone(&pipeline),
        };
        store.submit(spec, 0).expect("submit");
    }
}

/// Starts a worker attached to the store, writing its spans to `spans`.
fn start_worker(dir: &Path, spans: &Path, agents: usize) -> Child {
    let store = format!("file:{}", dir.display());
    Command::new(EXECUTABLE)
        .args(["run", "--attach", "--store", &store, "--mode", "throughput"])
        .args(["--agents", &agents.to_string(), "--lease-ms", "1000"])
        .arg("--spans-out")
        .arg(spans)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts")
}

fn log_entries(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join(COORDINATION_LOG_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<serde_json::Value>>(&text).ok())
        .map_or(0, |entries| entries.len())
}

fn read_spans(path: &Path) -> (Vec<SpanRecord>, usize) {
    let read = ingest::read_path(path).expect("span file readable");
    (read.spans, read.report.skipped_total)
}

// Proves a worker killed with SIGKILL mid-run leaves a store that parses, loses none of the
// completions it was told of, and that a second worker finishes the job after reaping the
// dead worker's leases, with no item ever held twice.
#[test]
fn a_killed_worker_loses_nothing_it_was_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spans_dir = tempfile::tempdir().expect("temp dir");
    let (first_spans, second_spans) = (
        spans_dir.path().join("first.jsonl"),
        spans_dir.path().join("second.jsonl"),
    );
    let item_count = 150;
    submit_items(dir.path(), item_count);
    let mut first = start_worker(dir.path(), &first_spans, 20);
    let give_up = Instant::now() + Duration::from_secs(60);
    while log_entries(dir.path()) < 20 {
        assert!(
            Instant::now() < give_up,
            "the first worker made no progress"
        );
        assert!(first.try_wait().expect("wait").is_none(), "it ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let completed_at_kill = log_entries(dir.path());
    assert!(completed_at_kill < item_count, "killed too late to test");
    check_valid_json(dir.path());
    let held_at_kill = held_items(dir.path());

    // What the dead worker was told is all in the store; at most its two worker threads had
    // a call in flight that the store committed but the worker never recorded.
    let (spans, torn) = read_spans(&first_spans);
    assert!(
        torn <= 1,
        "{torn} fragments skipped: only a last line can be torn"
    );
    check(acknowledged::no_lost_completions(&spans, dir.path()));
    check(acknowledged::unexplained_completions_at_most(
        &spans,
        dir.path(),
        2,
    ));

    let second = start_worker(dir.path(), &second_spans, 10);
    let output = second.wait_with_output().expect("second worker");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (mut all, torn_again) = read_spans(&second_spans);
    assert_eq!(torn_again, 0);
    all.extend(spans);
    check(history::no_overlapping_holds(&all));
    check(acknowledged::no_lost_completions(&all, dir.path()));
    check(audit::no_anomalies(dir.path()));
    assert_eq!(
        log_entries(dir.path()),
        item_count,
        "every item completed once"
    );
    let reaped: BTreeSet<String> = all
        .iter()
        .filter(|s| s.name == "lease.reap")
        .filter_map(|s| s.attr_text("work.item_id"))
        .collect();
    assert!(
        held_at_kill.is_subset(&reaped),
        "items the dead worker held {held_at_kill:?} were not all reaped: {reaped:?}"
    );
}

/// Items the store shows held (claimed, not finished).
fn held_items(dir: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join(WORK_CLAIMS_FILE)).expect("claims readable");
    let claims: Vec<serde_json::Value> = serde_json::from_str(&text).expect("claims parse");
    claims
        .iter()
        .filter(|claim| matches!(claim["status"].as_str(), Some("active" | "in_progress")))
        .filter_map(|claim| claim["work_item_id"].as_str().map(str::to_owned))
        .collect()
}
