//! The parent of a joined run: submits the workload to the shared store, serves the join
//! receiver, waits for the expected workers, lets them start, and once every one that
//! joined is done or silent, merges its own spans with those that arrived over OTLP.
//! Unlike `processes`, it starts nothing: workers come from wherever `swarmspec worker` was
//! run, so the only evidence of them is what they sent and what the store holds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;

use super::board::{JoinBoard, RunShape, WorkerState, WorkerSummary};
use super::server::{lock, JoinServer};
use crate::error::{Error, Result};
use crate::evidence::{Evidence, Verdict};
use crate::ingest::{IngestReport, Ingested};
use crate::swarm::processes::{submit, PROCESS_COUNT_MAX};
use crate::swarm::split_store::{OpenedStore, SplitStore};
use crate::swarm::{Mode, SwarmConfig};
use crate::telemetry::{AgentRecorder, Capture, TimeBase};

/// How long past the deadline the parent waits for workers that still beat.
const DEADLINE_GRACE: Duration = Duration::from_secs(30);
/// How often the parent looks at the board and the store.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What to run.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    /// The store every worker shares.
    pub store: SplitStore,
    /// The whole swarm (agents split evenly over the workers); throughput mode only.
    pub config: SwarmConfig,
    /// The workers expected, by name.
    pub workers: Vec<String>,
    /// Where the receiver listens.
    pub listen: SocketAddr,
    /// The token workers must present (required off loopback).
    pub token: Option<String>,
    /// How long to wait for every worker to join before starting with those that did.
    pub join_timeout: Duration,
}

/// A finished joined run.
#[derive(Debug)]
pub struct JoinedRun {
    /// The parent's submit spans and every span that arrived.
    pub evidence: Evidence,
    /// Each expected worker's end.
    pub workers: Vec<WorkerSummary>,
    /// Requests the receiver refused, with reasons.
    pub refused: Vec<String>,
    /// From the start signal to the last worker's end.
    pub wall: Duration,
    /// The shared store, still open, for the history checks.
    pub store: OpenedStore,
}

impl JoinPlan {
    fn validate(&self) -> Result<()> {
        self.config.validate()?;
        if self.config.mode != Mode::Throughput {
            return Err(Error::InvalidConfig(
                "a joined run is on the real clock (throughput mode): processes on other \
                 hosts cannot share a simulated one"
                    .into(),
            ));
        }
        let count = self.workers.len();
        if count == 0 || count > PROCESS_COUNT_MAX {
            return Err(Error::InvalidConfig(format!(
                "{count} workers: expected between 1 and {PROCESS_COUNT_MAX}"
            )));
        }
        let mut names = self.workers.clone();
        names.sort();
        if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(Error::InvalidConfig(format!(
                "worker «{}» is named twice",
                twice[0]
            )));
        }
        let teams = self.config.effective_team_sizes().len().max(1);
        if self.config.agent_count / count < teams {
            return Err(Error::InvalidConfig(format!(
                "{} agents over {count} workers leaves a worker fewer agents than the {teams} \
                 team(s) it must staff",
                self.config.agent_count
            )));
        }
        Ok(())
    }
}

/// The store as a worker is told of it: no password, the run's schema named.
fn shareable(store: &OpenedStore) -> (String, Option<String>) {
    (store.shareable_spec(), store.schema().map(str::to_owned))
}

/// Runs `plan`: `announce` is called with the receiver's URL once it listens (the CLI
/// prints the worker command line there); `finished` follows the store's finished items.
pub fn run(
    plan: &JoinPlan,
    finished: &AtomicU64,
    announce: impl FnOnce(&str, &OpenedStore),
) -> Result<JoinedRun> {
    plan.validate()?;
    let config = &plan.config;
    // Run-relative time 0: the store's and every parent span's clock.
    let time_base = TimeBase::wall_clock_now();
    let origin = Instant::now();
    let lease_ns = config.lease_duration.as_nanos() as u64;
    let store = plan.store.open(time_base.epoch_unix_ns(), lease_ns)?;
    let (store_label, schema) = shareable(&store);
    let shape = RunShape {
        agents: config.agent_count,
        teams: config.effective_team_sizes().len(),
        seed: config.seed,
        trace_salt: config.item_trace_salt(),
        deadline_s: config.deadline.as_secs().max(1),
        lease_ms: config.lease_duration.as_millis() as u64,
        store: store_label,
        schema,
    };
    let board = JoinBoard::new(shape, plan.workers.clone());
    let server = JoinServer::start(board, plan.listen, plan.token.clone())?;
    announce(server.url(), &store);

    let join_by = Instant::now() + plan.join_timeout;
    loop {
        let joined = lock(server.board()).joined();
        if joined == plan.workers.len() {
            break;
        }
        if Instant::now() >= join_by {
            if joined == 0 {
                let reason = format!(
                    "no worker joined within {} s (expected {})",
                    plan.join_timeout.as_secs(),
                    plan.workers.join(", ")
                );
                lock(server.board()).cancel(reason.clone());
                return Err(Error::Join(reason));
            }
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    let parent_capture = Arc::new(Capture::new(config.seed));
    let identity = vec![
        KeyValue::new("swarm.seed", config.seed as i64),
        KeyValue::new("swarm.mode", config.mode.as_str()),
        KeyValue::new("swarm.agents", config.agent_count as i64),
        KeyValue::new("swarm.items", config.item_count as i64),
        KeyValue::new("swarm.workers", plan.workers.len() as i64),
    ];
    let mut recorder = AgentRecorder::open(
        Arc::clone(&parent_capture),
        time_base,
        "swarm.run",
        identity,
        origin.elapsed().as_nanos() as u64,
    );
    // Submitted once the workers are there, so the run's span (which rates are taken
    // over) covers the work and not the wait for hosts to join.
    submit(config, store.coordinator(), origin, &mut recorder)?;
    lock(server.board()).start();
    let working = Instant::now();
    let give_up_at = working + config.deadline + DEADLINE_GRACE;
    while !lock(server.board()).settled(Instant::now()) && Instant::now() < give_up_at {
        if let Ok(Some(unfinished)) = store.coordinator().unfinished_items() {
            let done = config.item_count.saturating_sub(unfinished) as u64;
            finished.store(done, Ordering::Relaxed);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    let wall = working.elapsed();
    recorder.close(origin.elapsed().as_nanos() as u64);
    let (workers, refused, arrived) = {
        let mut board = lock(server.board());
        (
            board.summaries(Instant::now()),
            board.problems().to_vec(),
            board.take_spans(),
        )
    };
    drop(server);
    let mut spans = parent_capture.spans()?;
    spans.extend(arrived);
    let evidence = Ingested {
        spans,
        report: IngestReport::default(),
    }
    .into_evidence();
    Ok(JoinedRun {
        evidence,
        workers,
        refused,
        wall,
        store,
    })
}

fn describe(worker: &WorkerSummary) -> Option<String> {
    let on = if worker.host.is_empty() {
        String::new()
    } else {
        format!(" on {}", worker.host)
    };
    match &worker.state {
        WorkerState::Done(done) if done.ok => None,
        WorkerState::Done(done) => Some(format!(
            "worker «{}»{on} failed: {}",
            worker.name,
            done.problem.as_deref().unwrap_or("no reason given")
        )),
        WorkerState::Silent(for_how_long) => Some(format!(
            "worker «{}»{on} went silent for {:.1} s without finishing: killed, crashed or \
             cut off",
            worker.name,
            for_how_long.as_secs_f64()
        )),
        WorkerState::Running => Some(format!(
            "worker «{}»{on} was still running past the deadline",
            worker.name
        )),
        WorkerState::NeverJoined => None,
    }
}

impl JoinedRun {
    /// Every expected worker joined.
    pub fn every_worker_joined(&self) -> Verdict {
        let missing: Vec<String> = self
            .workers
            .iter()
            .filter(|w| w.state == WorkerState::NeverJoined)
            .map(|w| format!("worker «{}» never joined", w.name))
            .collect();
        Verdict::new(
            "every expected worker joined the run",
            missing.is_empty(),
            format!("{} workers joined", self.workers.len()),
            format!("{} never joined", missing.len()),
            missing,
        )
    }

    /// Every worker that joined said it finished without an error.
    pub fn every_worker_finished(&self) -> Verdict {
        let failed: Vec<String> = self.workers.iter().filter_map(describe).collect();
        let joined = self
            .workers
            .iter()
            .filter(|w| w.state != WorkerState::NeverJoined)
            .count();
        Verdict::new(
            "every worker that joined finished cleanly",
            failed.is_empty(),
            format!("{joined} finished"),
            format!("{} did not", failed.len()),
            failed,
        )
    }

    /// Every span a finished worker says it sent arrived, and no request was refused.
    pub fn spans_arrived_whole(&self) -> Verdict {
        let mut evidence: Vec<String> = self.refused.clone();
        for worker in &self.workers {
            if let WorkerState::Done(done) = &worker.state {
                if done.spans_ended != worker.spans_received {
                    evidence.push(format!(
                        "worker «{}» ended {} spans, {} arrived",
                        worker.name, done.spans_ended, worker.spans_received
                    ));
                }
            }
        }
        let received: u64 = self.workers.iter().map(|w| w.spans_received).sum();
        Verdict::new(
            "every finished worker's spans arrived over OTLP",
            evidence.is_empty(),
            format!("{received} spans from the workers"),
            format!("{} problems", evidence.len()),
            evidence,
        )
    }

    /// Agents of workers that went silent: each may have had a call in flight (and spans
    /// not yet exported) when it died, so that many completions may lack an acknowledgement.
    pub fn in_flight_max(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| matches!(w.state, WorkerState::Silent(_) | WorkerState::Running))
            .map(|w| w.agents)
            .sum()
    }
}
