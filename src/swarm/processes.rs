//! A swarm split across OS processes that share one store (a file store directory or a
//! PostgreSQL schema, see `split_store`).
//!
//! The parent submits the workload to the store, then starts `process_count` workers: each
//! is the swarmspec executable running `run --attach` on the same state with its share of
//! the agents and a seed of its own, and streams its spans to a span file. Workers race for
//! the same items through the store's lock (the OS lock, or PostgreSQL's row locks), exactly
//! as independent tools would. When all
//! have exited, the parent reads every span file back through `ingest` and judges the merged
//! evidence: no engine counter of any process is trusted, only what the spans show.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;

use super::split_store::{OpenedStore, SplitStore, WorkerStore, STORE_ENV};
use super::{submit_items, Mode, SwarmConfig};
use crate::coordination::Coordinator;
use crate::error::{Error, Result};
use crate::evidence::{Evidence, Verdict};
use crate::ingest::{self, IngestReport, Ingested};
use crate::telemetry::{AgentRecorder, Capture, TimeBase};

/// Most worker processes one run may start.
pub const PROCESS_COUNT_MAX: usize = 64;
/// Where, inside a file store's directory, workers write their span files and logs.
pub const SPANS_DIR: &str = "swarmspec-spans";
/// How often the parent looks at its workers (and counts finished items for progress).
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long past the run's deadline the parent waits before killing workers.
const DEADLINE_GRACE: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone)]
pub struct SplitPlan {
    /// The swarmspec executable the workers run.
    pub executable: PathBuf,
    /// The store every process shares.
    pub store: SplitStore,
    /// Where workers write their span files and logs (created if missing).
    pub spans_dir: PathBuf,
    /// How many worker processes.
    pub process_count: usize,
    /// The whole swarm: `agent_count` is split evenly over the workers; throughput mode only.
    pub config: SwarmConfig,
}

/// How one worker ended.
#[derive(Debug, Clone)]
pub struct WorkerExit {
    /// Its position (0-based).
    pub index: usize,
    /// Its OS process id.
    pub pid: u32,
    /// Agents it ran.
    pub agent_count: usize,
    /// Its exit status, or why none was had (killed after the deadline).
    pub status: std::result::Result<ExitStatus, String>,
    /// Its span file.
    pub spans_path: PathBuf,
    /// Its stdout and stderr.
    pub log_path: PathBuf,
    /// What reading its span file found besides the spans.
    pub ingest: IngestReport,
}

impl WorkerExit {
    /// Whether it exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.status.as_ref().is_ok_and(ExitStatus::success)
    }
}

/// A finished split run: merged evidence and each worker's end.
#[derive(Debug)]
pub struct SplitRun {
    /// The parent's submit spans and every worker's spans; latencies from span durations.
    pub evidence: Evidence,
    /// Each worker, in order.
    pub workers: Vec<WorkerExit>,
    /// From the first submission to the last worker's exit.
    pub wall: Duration,
    /// The shared store, still open, for the history checks.
    pub store: OpenedStore,
}

impl SplitRun {
    /// Every worker exited with status 0.
    pub fn workers_succeeded(&self) -> Verdict {
        let failed: Vec<String> = self
            .workers
            .iter()
            .filter(|worker| !worker.succeeded())
            .map(|worker| {
                let how = match &worker.status {
                    Ok(status) => status.to_string(),
                    Err(reason) => reason.clone(),
                };
                format!(
                    "worker {} (pid {}): {how}; its output is in {}",
                    worker.index,
                    worker.pid,
                    worker.log_path.display()
                )
            })
            .collect();
        Verdict::new(
            "every worker process exited cleanly",
            failed.is_empty(),
            format!("{} workers with status 0", self.workers.len()),
            format!("{} failed", failed.len()),
            failed,
        )
    }

    /// Every line of every span file was a span.
    pub fn span_files_whole(&self) -> Verdict {
        let mut evidence = Vec::new();
        for worker in &self.workers {
            for skipped in &worker.ingest.skipped {
                let path = worker.spans_path.display();
                evidence.push(format!("{path}:{}: {}", skipped.line, skipped.reason));
            }
        }
        let skipped: usize = self.workers.iter().map(|w| w.ingest.skipped_total).sum();
        Verdict::new(
            "every worker's span file reads back whole",
            skipped == 0,
            "0 fragments skipped",
            format!("{skipped} fragments skipped"),
            evidence,
        )
    }
}

impl SplitPlan {
    fn validate(&self) -> Result<()> {
        self.config.validate()?;
        if self.config.mode != Mode::Throughput {
            return Err(Error::InvalidConfig(
                "a swarm split across processes runs on the real clock (throughput mode): \
                 separate processes cannot share a simulated one"
                    .into(),
            ));
        }
        if self.process_count == 0 || self.process_count > PROCESS_COUNT_MAX {
            return Err(Error::InvalidConfig(format!(
                "process count {} is not between 1 and {PROCESS_COUNT_MAX}",
                self.process_count
            )));
        }
        let team_count = self.config.effective_team_sizes().len();
        let per_process_min = self.config.agent_count / self.process_count;
        if per_process_min < team_count.max(1) {
            return Err(Error::InvalidConfig(format!(
                "{} agents over {} processes leaves a process fewer agents than the {} \
                 team(s) it must staff",
                self.config.agent_count, self.process_count, team_count
            )));
        }
        Ok(())
    }

    /// Agents of worker `index`: an even split, the first ones taking the remainder.
    fn agents_of(&self, index: usize) -> usize {
        let base = self.config.agent_count / self.process_count;
        base + usize::from(index < self.config.agent_count % self.process_count)
    }
}

/// Seed of worker `index`: distinct per worker (so trace and span ids do not collide across
/// processes) and derived from the run's seed (so the plan replays).
pub fn worker_seed(seed: u64, index: usize) -> u64 {
    seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn io_error(path: &Path, what: &str, error: std::io::Error) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        problem: format!("{what}: {error}"),
    }
}

/// Submits the workload, recording into the parent's `swarm.run` session (shared with a
/// joined run's parent).
pub(crate) fn submit(
    config: &SwarmConfig,
    coordinator: &dyn Coordinator,
    started: Instant,
    recorder: &mut AgentRecorder,
) -> Result<()> {
    let now_ns = || started.elapsed().as_nanos() as u64;
    let pipeline = config.pipeline.clone().into();
    let team_sizes = config.effective_team_sizes();
    submit_items(
        coordinator,
        &pipeline,
        config.item_count,
        &team_sizes,
        &now_ns,
        recorder,
        config.item_trace_salt(),
    )?;
    Ok(())
}

fn spawn_worker(plan: &SplitPlan, index: usize, store: &WorkerStore) -> Result<(Child, PathBuf)> {
    let spans_dir = &plan.spans_dir;
    let config = &plan.config;
    let spans_path = spans_dir.join(format!("worker-{index}.jsonl"));
    let log_path = spans_dir.join(format!("worker-{index}.log"));
    let log = File::create(&log_path).map_err(|e| io_error(&log_path, "cannot create", e))?;
    let log_copy = log
        .try_clone()
        .map_err(|e| io_error(&log_path, "cannot reopen", e))?;
    let mut command = Command::new(&plan.executable);
    command.arg("run");
    match store {
        WorkerStore::Argument(argument) => {
            command.arg("--store").arg(argument);
        }
        WorkerStore::Environment(spec) => {
            command.env(STORE_ENV, spec);
        }
    }
    let child = command
        .arg("--attach")
        .arg("--spans-out")
        .arg(&spans_path)
        .args(["--mode", "throughput"])
        .args(["--agents", &plan.agents_of(index).to_string()])
        .args(["--teams", &config.effective_team_sizes().len().to_string()])
        .args(["--seed", &worker_seed(config.seed, index).to_string()])
        // Workers derive each item's trace from the parent's salt, as its submit span did.
        .args(["--trace-salt", &config.item_trace_salt().to_string()])
        .args([
            "--deadline-s",
            &config.deadline.as_secs().max(1).to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_copy)
        .spawn()
        .map_err(|error| io_error(&plan.executable, "cannot start a worker", error))?;
    Ok((child, spans_path))
}

/// Waits for every worker, killing the ones still running past the deadline's grace.
fn wait_all(
    children: &mut [Child],
    give_up_at: Instant,
    store: &dyn Coordinator,
    finished: &AtomicU64,
    item_count: usize,
) -> Vec<std::result::Result<ExitStatus, String>> {
    let mut statuses: Vec<Option<std::result::Result<ExitStatus, String>>> =
        vec![None; children.len()];
    while statuses.iter().any(Option::is_none) {
        for (child, status) in children.iter_mut().zip(statuses.iter_mut()) {
            if status.is_none() {
                *status = match child.try_wait() {
                    Ok(Some(exit)) => Some(Ok(exit)),
                    Ok(None) if Instant::now() >= give_up_at => {
                        // Already exited or already killed are the only errors; both end it.
                        let _ = child.kill();
                        let _ = child.wait();
                        Some(Err("still running past the deadline: killed".into()))
                    }
                    Ok(None) => None,
                    Err(error) => Some(Err(format!("cannot wait for it: {error}"))),
                };
            }
        }
        if let Ok(Some(unfinished)) = store.unfinished_items() {
            finished.store(
                item_count.saturating_sub(unfinished) as u64,
                Ordering::Relaxed,
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    statuses.into_iter().flatten().collect()
}

/// Runs `plan`, updating `finished` with the items the store shows done (for progress).
pub fn run(plan: &SplitPlan, finished: &AtomicU64) -> Result<SplitRun> {
    plan.validate()?;
    let time_base = TimeBase::wall_clock_now();
    let lease_ns = plan.config.lease_duration.as_nanos() as u64;
    let store = plan.store.open(time_base.epoch_unix_ns(), lease_ns)?;
    let spans_dir = &plan.spans_dir;
    std::fs::create_dir_all(spans_dir).map_err(|e| io_error(spans_dir, "cannot create", e))?;
    // The parent's `swarm.run` span covers submission and every worker's life, so rates
    // computed over it are rates of the whole split run.
    let parent_capture = Arc::new(Capture::new(plan.config.seed));
    let identity = vec![
        KeyValue::new("swarm.seed", plan.config.seed as i64),
        KeyValue::new("swarm.mode", plan.config.mode.as_str()),
        KeyValue::new("swarm.agents", plan.config.agent_count as i64),
        KeyValue::new("swarm.items", plan.config.item_count as i64),
        KeyValue::new("swarm.processes", plan.process_count as i64),
    ];
    let mut recorder = AgentRecorder::open(
        Arc::clone(&parent_capture),
        time_base,
        "swarm.run",
        identity,
        0,
    );
    let started = Instant::now();
    submit(&plan.config, store.coordinator(), started, &mut recorder)?;
    let worker_store = store.worker_store();
    let mut children = Vec::with_capacity(plan.process_count);
    let mut spans_paths = Vec::with_capacity(plan.process_count);
    for index in 0..plan.process_count {
        match spawn_worker(plan, index, &worker_store) {
            Ok((child, path)) => {
                children.push(child);
                spans_paths.push(path);
            }
            Err(error) => {
                for started_child in &mut children {
                    let _ = started_child.kill();
                    let _ = started_child.wait();
                }
                return Err(error);
            }
        }
    }
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let give_up_at = started + plan.config.deadline + DEADLINE_GRACE;
    let statuses = wait_all(
        &mut children,
        give_up_at,
        store.coordinator(),
        finished,
        plan.config.item_count,
    );
    let wall = started.elapsed();
    recorder.close(wall.as_nanos() as u64);

    let mut spans = parent_capture.spans()?;
    let mut workers = Vec::with_capacity(plan.process_count);
    for (index, (status, spans_path)) in statuses.into_iter().zip(spans_paths).enumerate() {
        // A worker that died before creating its span file left no spans: its exit status
        // already says so, and its log says why.
        let read = if spans_path.exists() {
            ingest::read_path(&spans_path)?
        } else {
            Ingested {
                spans: Vec::new(),
                report: IngestReport::default(),
            }
        };
        spans.extend(read.spans);
        workers.push(WorkerExit {
            index,
            pid: pids[index],
            agent_count: plan.agents_of(index),
            status,
            log_path: spans_path.with_extension("log"),
            spans_path,
            ingest: read.report,
        });
    }
    let evidence = Ingested {
        spans,
        report: IngestReport::default(),
    }
    .into_evidence();
    Ok(SplitRun {
        evidence,
        workers,
        wall,
        store,
    })
}
