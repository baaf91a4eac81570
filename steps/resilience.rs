//! Fault-injection steps and the invariants that must survive them.

use std::time::Duration;

use crate::evidence;
use crate::swarm::config::{Load, StallFault};
use crate::swarm::{Faults, PartitionFault, SkewFault, SlowFault};
use cucumber::{given, then};

use super::SwarmWorld;

/// That many agents run that many times slower than the delay model.
#[given(expr = "{int} agents are slowed down {float} times")]
fn slow(world: &mut SwarmWorld, agents: usize, factor: f64) {
    world.config.faults.slow = Some(SlowFault {
        agent_count: agents,
        factor,
    });
}

/// That team cannot reach the coordinator during the window.
#[given(expr = "team {int} is cut off from the coordinator from {int} ms for {int} ms")]
fn partition(world: &mut SwarmWorld, team: u32, start: u64, length: u64) {
    world.config.faults.partition = Some(PartitionFault {
        team,
        start: Duration::from_millis(start),
        length: Duration::from_millis(length),
    });
}

/// That many agents' clocks are off by that much; the coordinator sees their skewed times.
#[given(regex = r"^(\d+) agents' clocks run (\d+) ms (behind|ahead)$")]
fn skew(world: &mut SwarmWorld, agents: usize, offset_ms: i64, direction: String) {
    let offset_ms = if direction == "behind" {
        -offset_ms
    } else {
        offset_ms
    };
    world.config.faults.skew = Some(SkewFault {
        agent_count: agents,
        offset_ms,
    });
}

/// The coordinator answers nothing during the window: every call reaching it then is held
/// until the window ends, and nothing fails (only latency can show it).
#[given(expr = "the coordinator stalls from {int} ms for {int} ms")]
fn stall(world: &mut SwarmWorld, start: u64, length: u64) {
    world.config.faults.stall = Some(StallFault {
        start: Duration::from_millis(start),
        length: Duration::from_millis(length),
    });
}

/// Open-loop load (as wrk2 drives it): each agent intends one call per interval whatever
/// the answers, and latency counts from the intended start, so time queued behind a slow
/// answer is measured instead of omitted. Without this step, load is closed-loop.
#[given(expr = "open-loop load of one call per agent every {int} ms")]
fn open_loop(world: &mut SwarmWorld, interval_ms: u64) {
    world.config.load = Load::Open {
        interval: Duration::from_millis(interval_ms),
    };
}

/// The coordinator fails that share of calls at random, reproducibly from the seed.
#[given(expr = "the coordinator fails {float} % of calls")]
fn error_rate(world: &mut SwarmWorld, percent: f64) {
    world.config.faults.error_rate = percent / 100.0;
}

/// A mix of faults (crashes, partition, slow agents, skew, errors) drawn from the seed.
#[given("faults drawn from the seed")]
fn drawn(world: &mut SwarmWorld) {
    let teams = world.config.effective_team_sizes().len();
    world.config.faults = Faults::drawn_from(world.config.seed, world.config.agent_count, teams);
}

/// No stage acknowledged as completed was claimed again or reaped afterwards.
#[then("no acknowledged completion was lost")]
fn no_lost(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::resilience::no_lost_completions(&world.evidence()?.spans);
    world.judge(verdict)
}

/// Every item ended completed at its last stage or with a `work.fail` giving a reason.
#[then("every work item ended completed or failed with a reason")]
fn resolved(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let last_stage = world.config.pipeline.len().saturating_sub(1);
    let verdict = evidence::resilience::every_item_resolved(&world.evidence()?.spans, last_stage);
    world.judge(verdict)
}

/// The run's span closed within that many simulated seconds and every session closed.
#[then(expr = "the run ended within {int} simulated seconds")]
fn ended(world: &mut SwarmWorld, bound_s: u64) -> anyhow::Result<()> {
    let verdict = evidence::resilience::run_ended_within(&world.evidence()?.spans, bound_s as f64);
    world.judge(verdict)
}
