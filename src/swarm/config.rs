//! What a swarm run is asked to do: size, shape, timing model, faults.

use std::time::Duration;

use serde::Serialize;

use crate::coordination::breaker::BreakerConfig;
use crate::coordination::retry::RetryPolicy;
use crate::coordination::{Discipline, Role};
use crate::error::{Error, Result};

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

/// Agents that stop dead at a simulated instant, abandoning what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CrashFault {
    /// How many agents crash (the lowest-indexed ones of the roles doing the first stage).
    pub agent_count: usize,
    /// When, since the run began.
    pub at: Duration,
}

/// A window in which the coordinator refuses every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutageFault {
    /// Start, since the run began.
    pub start: Duration,
    /// Length.
    pub length: Duration,
}

/// One team cut off from the coordinator for a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PartitionFault {
    /// The team (index) that loses the coordinator.
    pub team: u32,
    /// Start, since the run began.
    pub start: Duration,
    /// Length.
    pub length: Duration,
}

/// Agents whose calls take longer than the delay model says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SlowFault {
    /// How many agents are slow (the highest-indexed ones).
    pub agent_count: usize,
    /// Their service and work times are multiplied by this.
    pub factor: f64,
}

/// Agents whose clocks are off: the times they report to the coordinator are shifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkewFault {
    /// How many agents are skewed (the lowest-indexed ones).
    pub agent_count: usize,
    /// Their clock's offset from true time, in ms (negative: behind).
    pub offset_ms: i64,
}

/// A window in which the coordinator answers nothing: every call that reaches it inside
/// the window is held until the window ends, then served. Unlike an outage nothing fails, so
/// only latency shows it, and only if latency is measured the way open-loop load does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StallFault {
    /// Start, since the run began.
    pub start: Duration,
    /// Length.
    pub length: Duration,
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

/// Every fault a run injects (deterministic mode is where they replay exactly).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Faults {
    /// Crashing agents.
    pub crash: Option<CrashFault>,
    /// A coordinator outage for everyone.
    pub outage: Option<OutageFault>,
    /// One team cut off.
    pub partition: Option<PartitionFault>,
    /// Slow agents.
    pub slow: Option<SlowFault>,
    /// Skewed clocks.
    pub skew: Option<SkewFault>,
    /// Share of coordinator calls that fail at random (0–1).
    pub error_rate: f64,
    /// A window in which the coordinator holds every call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<StallFault>,
}

impl Faults {
    /// A fault mix drawn from `seed`: which faults, when, and how strong, all reproducible.
    pub fn drawn_from(seed: u64, agent_count: usize, team_count: usize) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_FA17);
        let ms = |rng: &mut rand_chacha::ChaCha8Rng, low: u64, high: u64| {
            Duration::from_millis(rng.gen_range(low..high))
        };
        let mut faults = Faults::default();
        if rng.gen_bool(0.7) {
            let at = ms(&mut rng, 5, 60);
            faults.crash = Some(CrashFault {
                agent_count: rng.gen_range(1..=agent_count.div_ceil(4)),
                at,
            });
        }
        if rng.gen_bool(0.5) {
            let (start, length) = (ms(&mut rng, 0, 50), ms(&mut rng, 10, 150));
            faults.partition = Some(PartitionFault {
                team: rng.gen_range(0..team_count as u32),
                start,
                length,
            });
        }
        if rng.gen_bool(0.5) {
            faults.slow = Some(SlowFault {
                agent_count: rng.gen_range(1..=agent_count.div_ceil(3)),
                factor: rng.gen_range(2.0..10.0),
            });
        }
        if rng.gen_bool(0.5) {
            faults.skew = Some(SkewFault {
                agent_count: rng.gen_range(1..=agent_count.div_ceil(3)),
                offset_ms: rng.gen_range(-300..300),
            });
        }
        if rng.gen_bool(0.5) {
            faults.error_rate = rng.gen_range(0.0..0.05);
        }
        faults
    }
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
        }
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
        if !(0.0..=1.0).contains(&self.faults.error_rate) {
            return fail(format!(
                "the error rate must be 0 to 1, got {}",
                self.faults.error_rate
            ));
        }
        if matches!(self.load, Load::Open { interval } if interval.is_zero()) {
            return fail("an open-loop interval must be longer than 0".into());
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
