//! The seeded swarm simulator.
//!
//! `Swarm::run` picks an executor (the discrete-event one on virtual time in deterministic
//! mode, tokio's multi-threaded runtime on the real clock in throughput mode), submits the
//! workload through a least-loaded balancer, starts one task per agent and a lease reaper,
//! and waits for every item to finish (or the deadline). Its evidence is left in the
//! `Capture`.

/// Per-agent behaviour.
pub mod agent;
/// Append-only work boards per team and stage.
pub mod board;
/// Run-relative time: virtual in deterministic mode, real in throughput mode.
pub mod clock;
/// Run configuration and its validation.
pub mod config;
/// The faults a run injects, and a reproducible mix of them.
pub mod faults;
/// A swarm whose workers join over the network and export their spans over OTLP.
pub mod join;
/// Resident memory of this process, for memory claims.
pub mod memory;
/// A swarm split across OS processes that share a file store.
pub mod processes;
/// The lease reaper task.
pub mod reaper;
/// State shared by the run's tasks.
pub mod shared;
/// The discrete-event executor of deterministic runs: virtual time, timers, a run queue.
pub mod sim;
/// The store a split swarm's processes share: a file store or a PostgreSQL schema.
pub mod split_store;
/// Submitting a run's workload, and checking items a run attaches to.
mod submit;
/// Spawning and joining a run's tasks on the mode's executor.
pub mod tasks;
/// The time-stamp counter as a cheap real clock.
pub mod tsc;
/// For runs attached to shared state: counts unfinished items in the store.
pub mod watcher;

use submit::check_existing;
pub(crate) use submit::submit_items;

pub use config::{
    Contention, CrashFault, DelayModel, Faults, Mode, OutageFault, PartitionFault, SkewFault,
    SlowFault, SwarmConfig,
};

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use opentelemetry::KeyValue;
use serde::Serialize;

use crate::coordination::faulty::{FaultSchedule, Faulty, Outage};
use crate::coordination::{Coordinator, ExistingItem, ItemStatus, MemoryCoordinator, TeamId};
use crate::error::{Error, Result};
use crate::telemetry::{AgentRecorder, Capture, TimeBase};
use agent::AgentPlan;
use board::Boards;
use clock::RunClock;
use shared::Shared;

/// What a run says about itself. Evidence checks do not use it: it is for summaries.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The seed that reproduces the run.
    pub seed: u64,
    /// Deterministic or throughput.
    pub mode: Mode,
    /// Agents started.
    pub agent_count: usize,
    /// Items submitted.
    pub item_count: usize,
    /// Length of the run (simulated in deterministic mode), ns.
    pub duration_ns: u64,
    /// From the first agent's start to the last agent's end, ns (excludes submitting the
    /// workload): the window throughput figures divide by.
    pub agents_duration_ns: u64,
    /// Items not finished when the run stopped.
    pub items_unfinished: usize,
    /// Agents that crashed by fault injection.
    pub agents_crashed: usize,
    /// Whether the deadline stopped the run.
    pub deadline_hit: bool,
}

/// Builds the system under test for a run, given the run's time base (so an engine can
/// stamp absolute times and ids). Set with `Swarm::with_coordinator`.
pub type CoordinatorFactory = Arc<dyn Fn(TimeBase) -> Result<Arc<dyn Coordinator>> + Send + Sync>;

/// A configured swarm, ready to run.
pub struct Swarm {
    config: SwarmConfig,
    finished: Arc<AtomicU64>,
    factory: Option<CoordinatorFactory>,
    capabilities: crate::systems::Capabilities,
    /// Set by `attached`: work on these items instead of submitting new ones.
    existing: Option<Vec<ExistingItem>>,
    /// Set by `watched_by`.
    live: Option<Arc<crate::live::LiveAgents>>,
}

impl Swarm {
    /// A swarm that will run `config`.
    pub fn new(config: SwarmConfig) -> Self {
        Self {
            config,
            finished: Arc::new(AtomicU64::new(0)),
            factory: None,
            capabilities: crate::systems::Capabilities::ALL,
            existing: None,
            live: None,
        }
    }

    /// Lets a live view see each agent's state: agents store one byte when their state
    /// changes, which the view reads on its own schedule.
    pub fn watched_by(mut self, agents: Arc<crate::live::LiveAgents>) -> Self {
        self.live = Some(agents);
        self
    }

    /// Works on `items`, already in the coordinator's state, instead of submitting a
    /// workload: one of several processes sharing a store. Other processes finish items too,
    /// so the run ends when the coordinator counts none unfinished (it must be able to:
    /// `Coordinator::unfinished_items`), not when this run's own agents finished them all.
    pub fn attached(mut self, items: Vec<ExistingItem>) -> Self {
        self.existing = Some(items);
        self
    }

    /// Runs against the coordinator `factory` builds instead of a `MemoryCoordinator` (a
    /// `FileStore`, a child process, a user's own engine). The configured faults at the
    /// boundary (outages, partitions, error rates) wrap it as they wrap the memory engine;
    /// the claim discipline (planted defects) is the memory engine's and does not apply.
    pub fn with_coordinator(mut self, factory: CoordinatorFactory) -> Self {
        self.factory = Some(factory);
        self
    }

    /// Tells the run what the system offers (see `systems::Capabilities`): without
    /// heartbeat agents do not send them, without reap no reaper runs. Defaults to all.
    pub fn with_capabilities(mut self, capabilities: crate::systems::Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// A counter of finished items, updated live while the run goes (for progress bars).
    pub fn finished_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.finished)
    }

    /// Runs to completion, leaving spans and histograms in `capture`.
    pub fn run(&self, capture: Arc<Capture>) -> Result<RunOutcome> {
        self.config.validate()?;
        let seed = self.config.seed;
        // The run gets a thread of its own, so it works the same whether the caller is plain
        // code or already inside an executor (cucumber's, or a tokio runtime): the SDK's
        // simple span processor blocks on each export and refuses to nest in another executor.
        let outcome = match self.config.mode {
            Mode::Deterministic => std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        // The executor's tasks need not be 'static: they borrow nothing but
                        // what this thread owns until it returns.
                        let run = self.run_inside(capture);
                        sim::block_on(run)
                            .map_err(|error| Error::Capture(format!("{error} (seed {seed})")))?
                    })
                    .join()
            }),
            Mode::Throughput => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(self.config.worker_threads)
                    .enable_time()
                    .build()?;
                std::thread::scope(|scope| {
                    scope
                        .spawn(|| runtime.block_on(self.run_inside(capture)))
                        .join()
                })
            }
        };
        outcome.map_err(|_| Error::Capture(format!("the swarm run panicked (seed {seed})")))?
    }

    fn plan_agents(&self) -> Vec<AgentPlan> {
        let faults = &self.config.faults;
        let roles = self.config.roles();
        let first_role = self.config.pipeline[0];
        let mut crashes_left = faults.crash.map_or(0, |crash| crash.agent_count);
        let crash_at_ns = faults.crash.map(|crash| crash.at.as_nanos() as u64);
        let mut plans = Vec::with_capacity(self.config.agent_count);
        for (team, &size) in self.config.effective_team_sizes().iter().enumerate() {
            for member in 0..size {
                let role = roles[member % roles.len()];
                let crashes = role == first_role && crashes_left > 0;
                crashes_left -= usize::from(crashes);
                let team_crash_ns = faults
                    .team_crash
                    .filter(|fault| fault.team as usize == team)
                    .map(|fault| fault.at.as_nanos() as u64);
                let crash_at_ns = match (crashes.then_some(crash_at_ns).flatten(), team_crash_ns) {
                    (Some(one), Some(other)) => Some(one.min(other)),
                    (one, other) => one.or(other),
                };
                let index = plans.len();
                let skewed = faults.skew.filter(|skew| index < skew.agent_count);
                let slow = faults
                    .slow
                    .filter(|slow| index + slow.agent_count >= self.config.agent_count);
                plans.push(AgentPlan {
                    index,
                    role,
                    team: TeamId(team as u32),
                    crash_at_ns,
                    slow_factor: slow.map_or(1.0, |slow| slow.factor),
                    clock_skew_ns: skewed.map_or(0, |skew| skew.offset_ms * 1_000_000),
                });
            }
        }
        plans
    }

    fn coordinator(&self, time_base: TimeBase) -> Result<Arc<dyn Coordinator>> {
        let engine: Arc<dyn Coordinator> = match &self.factory {
            Some(factory) => factory(time_base)?,
            None => Arc::new(MemoryCoordinator::new(
                time_base.epoch_unix_ns(),
                self.config.lease_duration.as_nanos() as u64,
                self.config.discipline,
            )),
        };
        let faults = &self.config.faults;
        let window = |start: std::time::Duration, length: std::time::Duration, team| Outage {
            start_ns: start.as_nanos() as u64,
            end_ns: (start + length).as_nanos() as u64,
            team,
        };
        let mut outages = Vec::new();
        if let Some(outage) = faults.outage {
            outages.push(window(outage.start, outage.length, None));
        }
        if let Some(partition) = faults.partition {
            outages.push(window(
                partition.start,
                partition.length,
                Some(TeamId(partition.team)),
            ));
        }
        if outages.is_empty() && faults.error_rate == 0.0 && faults.lost_answer_rate == 0.0 {
            return Ok(engine);
        }
        let schedule = FaultSchedule {
            outages,
            error_rate: faults.error_rate,
            lost_answer_rate: faults.lost_answer_rate,
            seed: self.config.seed,
        };
        Ok(Arc::new(Faulty::new(engine, schedule)))
    }

    async fn run_inside(&self, capture: Arc<Capture>) -> Result<RunOutcome> {
        let config = &self.config;
        let (clock, time_base) = match config.mode {
            Mode::Deterministic => (RunClock::simulated(), TimeBase::simulated()),
            Mode::Throughput => (RunClock::real(), TimeBase::wall_clock_now()),
        };
        let identity = vec![
            KeyValue::new("swarm.seed", config.seed as i64),
            KeyValue::new("swarm.mode", config.mode.as_str()),
            KeyValue::new("swarm.agents", config.agent_count as i64),
            KeyValue::new("swarm.items", config.item_count as i64),
        ];
        let mut run_recorder =
            AgentRecorder::open(Arc::clone(&capture), time_base, "swarm.run", identity, 0);
        let team_sizes = config.effective_team_sizes();
        let pipeline: Arc<[_]> = config.pipeline.clone().into();
        let shared = Arc::new(Shared {
            config: config.clone(),
            pipeline: Arc::clone(&pipeline),
            coordinator: self.coordinator(time_base)?,
            capture,
            boards: Boards::new(team_sizes.len(), pipeline.len()),
            remaining: AtomicUsize::new(
                self.existing.as_ref().map_or(config.item_count, |items| {
                    items.iter().filter(|existing| !existing.finished).count()
                }),
            ),
            counted_externally: self.existing.is_some(),
            finished: Arc::clone(&self.finished),
            clock,
            time_base,
            deadline_ns: config.deadline.as_nanos() as u64,
            capabilities: self.capabilities,
            live: self.live.clone(),
            run_span: run_recorder.session_parent(),
        });

        let submitted = match &self.existing {
            Some(items) => {
                check_existing(items, team_sizes.len(), pipeline.len())?;
                for existing in items.iter().filter(|existing| !existing.finished) {
                    let board = shared.boards.board(existing.team, existing.stage);
                    board.push(existing.item);
                }
                items.iter().map(|existing| existing.item).collect()
            }
            None => {
                let now_ns = || shared.clock.now_ns();
                let submitted = submit_items(
                    shared.coordinator.as_ref(),
                    &shared.pipeline,
                    config.item_count,
                    &team_sizes,
                    &now_ns,
                    &mut run_recorder,
                    config.item_trace_salt(),
                )?;
                for &(item, team) in &submitted {
                    shared.boards.board(team, 0).push(item);
                }
                submitted.into_iter().map(|(item, _)| item).collect()
            }
        };
        let watcher = shared
            .counted_externally
            .then(|| tasks::spawn(config.mode, watcher::run(Arc::clone(&shared))));
        let (stop_reaper, reaper_stop) = tokio::sync::watch::channel(false);
        // A system without server-side reaping has no expired leases to reopen.
        let reaper = self
            .capabilities
            .reap
            .then(|| tasks::spawn(config.mode, reaper::run(Arc::clone(&shared), reaper_stop)));
        let agents_start_ns = clock.now_ns();
        let plans = self.plan_agents();
        if let Some(live) = &self.live {
            live.lay_out(plans.iter().map(|plan| (plan.team.0, plan.role.as_str())));
        }
        let handles: Vec<_> = plans
            .into_iter()
            .map(|plan| tasks::spawn(config.mode, agent::run(Arc::clone(&shared), plan)))
            .collect();
        let mut agents_crashed = 0;
        let mut deadline_hit = false;
        for handle in handles {
            let report = handle
                .join()
                .await
                .map_err(|error| Error::Capture(format!("an agent task failed: {error}")))??;
            agents_crashed += usize::from(report.crashed);
            deadline_hit |= report.hit_deadline;
        }
        let end_ns = clock.now_ns();
        let agents_duration_ns = end_ns.saturating_sub(agents_start_ns);
        // The receiver may already be gone if the reaper stopped on its own; that is fine.
        let _ = stop_reaper.send(true);
        if let Some(reaper) = reaper {
            reaper
                .join()
                .await
                .map_err(|error| Error::Capture(format!("the reaper task failed: {error}")))?;
        }
        if let Some(watcher) = watcher {
            watcher
                .join()
                .await
                .map_err(|error| Error::Capture(format!("the watcher task failed: {error}")))??;
        }
        // Every item ends completed or explicitly failed, with the reason.
        let reason = if deadline_hit {
            "deadline reached"
        } else {
            "no live agent could finish it"
        };
        let all_done = shared.remaining.load(std::sync::atomic::Ordering::Acquire) == 0;
        // An attached run whose watcher saw every item done has nothing to mark (and peeking
        // each item of a shared file store would read the whole store once per item).
        let unchecked = if shared.counted_externally && all_done {
            Vec::new()
        } else {
            submitted
        };
        for item in unchecked {
            let done = shared
                .coordinator
                .peek(item)
                .is_ok_and(|view| view.status == ItemStatus::Done);
            if !done {
                let attrs = vec![
                    KeyValue::new("work.item_id", item.to_string()),
                    KeyValue::new("work.failure_reason", reason),
                ];
                run_recorder.item_event(shared.item_root(item), "work.fail", end_ns, attrs);
            }
        }
        run_recorder.close(end_ns);
        Ok(RunOutcome {
            seed: config.seed,
            mode: config.mode,
            agent_count: config.agent_count,
            item_count: config.item_count,
            duration_ns: end_ns,
            agents_duration_ns,
            items_unfinished: shared.remaining.load(std::sync::atomic::Ordering::Acquire),
            agents_crashed,
            deadline_hit,
        })
    }
}
