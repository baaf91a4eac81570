//! The faults a run injects: crashes (of agents or of a whole team), outages, partitions,
//! slow agents, skewed clocks, random errors and stalls, and a reproducible mix of them.

use std::time::Duration;

use serde::Serialize;

/// Agents that stop dead at a simulated instant, abandoning what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CrashFault {
    /// How many agents crash (the lowest-indexed ones of the roles doing the first stage).
    pub agent_count: usize,
    /// When, since the run began.
    pub at: Duration,
}

/// A whole team stopping dead at once (its host lost power), abandoning what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TeamCrashFault {
    /// The team (0-based, as `TeamId` numbers them).
    pub team: u32,
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

/// Every fault a run injects (deterministic mode is where they replay exactly).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Faults {
    /// Crashing agents.
    pub crash: Option<CrashFault>,
    /// A whole team crashing at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_crash: Option<TeamCrashFault>,
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
    /// Share of coordinator calls (0–1) that apply and then fail as if their answer were
    /// lost on the way back, so the agent cannot tell whether they applied.
    #[serde(skip_serializing_if = "is_zero")]
    pub lost_answer_rate: f64,
}

fn is_zero(rate: &f64) -> bool {
    *rate == 0.0
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
