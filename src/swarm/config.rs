//! What a swarm run is asked to do: size, shape, timing model, faults.

use std::time::Duration;

use serde::Serialize;

use crate::coordination::breaker::BreakerConfig;
use crate::coordination::retry::RetryPolicy;
use crate::coordination::{Discipline, Role};
use crate::error::{Error, Result};

pub use super::faults::{
    CrashFault, Faults, OutageFault, PartitionFault, SkewFault, SlowFault, StallFault,
    TeamCrashFault,
};

/// Upper bound on agents in one run; beyond it memory, not the engine, is the limit.
pub const AGENT_COUNT_MAX: usize = 1_000_000;
/// Upper bound on work items in one run.
pub const ITEM_COUNT_MAX: usize = 100_000_000;

/// Resident bytes one work item costs a run of one stage with one progress report: its
/// spans in the capture and again as `SpanRecord`s for the checks, its board and engine
/// entries. Measured: `swarmspec run --agents 100 --items N` peaks at 115 MB for 20 000
/// items and 514 MB for 100 000, 5.0 KB per item.
pub const MEMORY_BYTES_PER_ITEM: u64 = 5_000;
/// Resident bytes one agent costs (its task, recorder and session): 10 000 agents on 1 000
/// items peak at 41 MB, about 2.1 KB per agent beyond the items and the base.
pub const MEMORY_BYTES_PER_AGENT: u64 = 2_100;
/// Resident bytes of a run before any item or agent (runtime, tracer, binary).
pub const MEMORY_BYTES_BASE: u64 = 16_000_000;

/// How time and scheduling work in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// One thread, virtual time, seeded delays: the same seed gives the same event order.
    Deterministic,
    /// All worker threads, the real clock, no simulated delays: for performance figures.
    Throughput,
}

impl Mode {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Deterministic => "deterministic",
            Mode::Throughput => "throughput",
        }
    }

    /// Parses `deterministic` or `throughput`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deterministic" => Some(Mode::Deterministic),
            "throughput" => Some(Mode::Throughput),
            _ => None,
        }
    }
}

/// How agents pick work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Contention {
    /// A shared cursor hands each agent a different item: races are rare.
    Spread,
    /// Every agent scans the board from the top: all race for the same items.
    High,
}

/// How agents pace their calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Load {
    /// Each call starts when the previous one ended (and its work was done); latency is
    /// measured from the call's own start. A stalled coordinator slows the agents, so fewer
    /// calls see the stall: the closed loop under-reports it (coordinated omission).
    #[default]
    Closed,
    /// Each agent's calls have intended start times at a fixed interval from its
    /// registration, as wrk2 does; a call that starts late (a slow answer held the agent)
    /// has its latency measured from its intended start, so the wait it spent queued
    /// behind a stall counts.
    Open {
        /// Time between one agent's intended call starts.
        interval: Duration,
    },
}

/// Simulated durations (deterministic mode only; throughput mode uses the real clock).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelayModel {
    /// Mean time one coordinator call takes (exponentially distributed).
    pub service_time_mean: Duration,
    /// Mean time an agent works on a stage between claim and complete.
    pub work_time_mean: Duration,
}

impl Default for DelayModel {
    fn default() -> Self {
        Self {
            service_time_mean: Duration::from_millis(1),
            work_time_mean: Duration::from_millis(20),
        }
    }
}

/// A complete description of one run.
#[derive(Debug, Clone, Serialize)]
pub struct SwarmConfig {
    /// Agents in the swarm.
    pub agent_count: usize,
    /// Work items submitted at the start.
    pub item_count: usize,
    /// Every random choice derives from this.
    pub seed: u64,
    /// Deterministic or throughput.
    pub mode: Mode,
    /// How agents pick work.
    pub contention: Contention,
    /// Agents per team; their sum is `agent_count`. Empty means one team.
    pub team_sizes: Vec<usize>,
    /// The roles every item passes through; agents are spread evenly over these roles.
    pub pipeline: Vec<Role>,
    /// Progress reports per stage of work.
    pub progress_reports: u8,
    /// A holder silent for this long loses its claims to the reaper.
    pub lease_duration: Duration,
    /// Simulated delays (deterministic mode).
    pub delays: DelayModel,
    /// Backoff between retries of a failed call.
    pub retry: RetryPolicy,
    /// Each agent's circuit breaker.
    pub breaker: BreakerConfig,
    /// Injected faults.
    pub faults: Faults,
    /// Whether the memory engine is correct or carries a planted defect (only tests of the
    /// checks, and `verify --mutants`, break it).
    pub discipline: Discipline,
    /// Worker threads in throughput mode.
    pub worker_threads: usize,
    /// The run stops (and says so) after this long, simulated or real.
    pub deadline: Duration,
    /// Closed-loop (the default) or open-loop pacing of each agent's calls.
    #[serde(skip_serializing_if = "is_closed")]
    pub load: Load,
    /// What work items' trace ids are derived from (`telemetry::item_trace`); the seed
    /// when none. A split run's workers get their parent's, so an item keeps one trace
    /// across processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_salt: Option<u64>,
    /// How long an agent waits after losing a claim before it looks for work again (none
    /// by default: a loser moves straight on to the next item).
    #[serde(skip_serializing_if = "Duration::is_zero")]
    pub conflict_backoff: Duration,
    /// Deterministic mode: every agent registers at time 0 and makes its first call with no
    /// simulated service time, so a crowd hits the coordinator at one virtual instant
    /// instead of 0.4–2.3 ms apart (where the first always wins unopposed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub burst_start: bool,
    /// How long an agent waits for an answer before it gives the call up as indefinite and
    /// retries it. It cuts short the waits swarmspec itself imposes (simulated service
    /// time, a stall); a real system's own slowness is bounded by its adapter's timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_timeout: Option<Duration>,
}

fn is_closed(load: &Load) -> bool {
    *load == Load::Closed
}

impl SwarmConfig {
    /// A single-team developer swarm with the defaults a quick run wants.
    pub fn new(agent_count: usize, item_count: usize, seed: u64) -> Self {
        Self {
            agent_count,
            item_count,
            seed,
            mode: Mode::Deterministic,
            contention: Contention::Spread,
            team_sizes: Vec::new(),
            pipeline: vec![Role::Developer],
            progress_reports: 1,
            lease_duration: Duration::from_secs(5),
            delays: DelayModel::default(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            faults: Faults::default(),
            discipline: Discipline::Correct,
            worker_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            deadline: Duration::from_secs(3_600),
            load: Load::Closed,
            trace_salt: None,
            conflict_backoff: Duration::ZERO,
            burst_start: false,
            call_timeout: None,
        }
    }

    /// The salt of work items' trace ids: `trace_salt`, else the seed.
    pub fn item_trace_salt(&self) -> u64 {
        self.trace_salt.unwrap_or(self.seed)
    }

    /// Team sizes, with the empty default expanded to one team of everyone.
    pub fn effective_team_sizes(&self) -> Vec<usize> {
        if self.team_sizes.is_empty() {
            vec![self.agent_count]
        } else {
            self.team_sizes.clone()
        }
    }

    /// The distinct roles of the pipeline, in first-appearance order.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = Vec::new();
        for role in &self.pipeline {
            if !roles.contains(role) {
                roles.push(*role);
            }
        }
        roles
    }

    /// Resident memory this run is expected to peak at: each item's spans scale with its
    /// stages and progress reports (claim, progress, complete per stage), measured at one
    /// stage with one report as `MEMORY_BYTES_PER_ITEM`.
    pub fn memory_estimate_bytes(&self) -> u64 {
        MEMORY_BYTES_BASE
            .saturating_add(
                self.memory_estimate_bytes_per_item()
                    .saturating_mul(self.item_count as u64),
            )
            .saturating_add(MEMORY_BYTES_PER_AGENT.saturating_mul(self.agent_count as u64))
    }

    /// Refuses, before anything runs, a run whose estimate exceeds `available_bytes` (the
    /// machine's available memory): it would otherwise be killed, or swap, hours in.
    pub fn check_memory(&self, available_bytes: u64) -> Result<()> {
        let needed = self.memory_estimate_bytes();
        if needed <= available_bytes {
            return Ok(());
        }
        Err(Error::InvalidConfig(format!(
            "{} items and {} agents need about {} ({:.1} KB per item, {:.1} KB per agent), \
             more than the {} this machine has available: use fewer items or agents",
            self.item_count,
            self.agent_count,
            gigabytes(needed),
            (self.memory_estimate_bytes_per_item() as f64) / 1e3,
            MEMORY_BYTES_PER_AGENT as f64 / 1e3,
            gigabytes(available_bytes),
        )))
    }

    fn memory_estimate_bytes_per_item(&self) -> u64 {
        let stages = self.pipeline.len().max(1) as u64;
        MEMORY_BYTES_PER_ITEM.saturating_mul(stages * (2 + u64::from(self.progress_reports))) / 3
    }

    /// Rejects configurations that cannot run, with a message naming the value.
    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(Error::InvalidConfig(message));
        if self.agent_count == 0 || self.agent_count > AGENT_COUNT_MAX {
            return fail(format!(
                "agent count must be 1 to {AGENT_COUNT_MAX}, got {}",
                self.agent_count
            ));
        }
        if self.item_count == 0 || self.item_count > ITEM_COUNT_MAX {
            return fail(format!(
                "item count must be 1 to {ITEM_COUNT_MAX}, got {}",
                self.item_count
            ));
        }
        if self.pipeline.is_empty() {
            return fail("the pipeline needs at least one role".into());
        }
        let sizes = self.effective_team_sizes();
        if sizes.iter().sum::<usize>() != self.agent_count {
            return fail(format!(
                "team sizes {sizes:?} do not add up to {} agents",
                self.agent_count
            ));
        }
        let roles = self.roles().len();
        if let Some(size) = sizes.iter().find(|&&size| size < roles) {
            return fail(format!(
                "a team of {size} cannot cover the pipeline's {roles} roles"
            ));
        }
        if self.worker_threads == 0 {
            return fail("worker threads must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.faults.lost_answer_rate) {
            return fail(format!(
                "the lost-answer rate must be 0 to 1, got {}",
                self.faults.lost_answer_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.faults.error_rate) {
            return fail(format!(
                "the error rate must be 0 to 1, got {}",
                self.faults.error_rate
            ));
        }
        if matches!(self.load, Load::Open { interval } if interval.is_zero()) {
            return fail("an open-loop interval must be longer than 0".into());
        }
        if let Some(crash) = self.faults.team_crash {
            if crash.team as usize >= sizes.len() {
                return fail(format!(
                    "crashing team {} does not exist ({} teams, numbered from 0)",
                    crash.team,
                    sizes.len()
                ));
            }
        }
        if let Some(partition) = self.faults.partition {
            if partition.team as usize >= sizes.len() {
                return fail(format!(
                    "partitioned team {} does not exist ({} teams)",
                    partition.team,
                    sizes.len()
                ));
            }
        }
        if self
            .faults
            .slow
            .is_some_and(|slow| !(slow.factor >= 1.0 && slow.factor.is_finite()))
        {
            return fail("a slow factor must be a finite number of at least 1".into());
        }
        if self.lease_duration.is_zero() {
            return fail("the lease duration must be positive".into());
        }
        Ok(())
    }
}

fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    // Proves the estimate matches the measured 5 KB per item and that a run which cannot fit
    // is refused with the estimate and the memory available, while a small one passes.
    #[test]
    fn refuses_runs_that_cannot_fit() {
        let huge = SwarmConfig::new(100, 100_000_000, 1);
        assert_eq!(huge.memory_estimate_bytes() / 1_000_000_000, 500);
        let refused = huge.check_memory(24_000_000_000).expect_err("cannot fit");
        let text = refused.to_string();
        assert!(text.contains("need about 500.0 GB"), "{text}");
        assert!(
            text.contains("the 24.0 GB this machine has available"),
            "{text}"
        );
        assert!(SwarmConfig::new(100, 10_000, 1)
            .check_memory(24_000_000_000)
            .is_ok());
    }
}
