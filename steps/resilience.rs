//! Fault-injection steps and the invariants that must survive them.

use crate::evidence;
use crate::swarm::config::{Load, StallFault, TeamCrashFault};
use crate::swarm::{Faults, PartitionFault, SkewFault, SlowFault};
use cucumber::{given, then};

use super::parameters::{DurationParam, Percent};
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
#[given(expr = "team {int} is cut off from the coordinator from {duration} for {duration}")]
fn partition(world: &mut SwarmWorld, team: u32, start: DurationParam, length: DurationParam) {
    world.config.faults.partition = Some(PartitionFault {
        team,
        start: start.0,
        length: length.0,
    });
}

/// Every agent of that team (0-based) stops dead at that time, as when their host dies:
/// what they held must be reaped and finished by the other teams.
#[given(expr = "every agent of team {int} crashes at {duration}")]
fn team_crash(world: &mut SwarmWorld, team: u32, at: DurationParam) {
    // A team that does not exist is refused when the run is validated, after every Given.
    world.config.faults.team_crash = Some(TeamCrashFault { team, at: at.0 });
}

/// That many agents' clocks are off by that much; the coordinator sees their skewed times.
#[given(expr = "{int} agents' clocks run {duration} {word}")]
fn skew(
    world: &mut SwarmWorld,
    agents: usize,
    offset: DurationParam,
    direction: String,
) -> anyhow::Result<()> {
    let offset = offset.0;
    let offset_ms = i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
    let offset_ms = match direction.as_str() {
        "behind" => -offset_ms,
        "ahead" => offset_ms,
        other => anyhow::bail!("a clock runs «behind» or «ahead», not «{other}»"),
    };
    world.config.faults.skew = Some(SkewFault {
        agent_count: agents,
        offset_ms,
    });
    Ok(())
}

/// The coordinator answers nothing during the window: every call reaching it then is held
/// until the window ends, and nothing fails (only latency can show it).
#[given(expr = "the coordinator stalls from {duration} for {duration}")]
fn stall(world: &mut SwarmWorld, start: DurationParam, length: DurationParam) {
    world.config.faults.stall = Some(StallFault {
        start: start.0,
        length: length.0,
    });
}

/// Open-loop load (as wrk2 drives it): each agent intends one call per interval whatever
/// the answers, and latency counts from the intended start, so time queued behind a slow
/// answer is measured instead of omitted. Without this step, load is closed-loop.
#[given(expr = "open-loop load of one call per agent every {duration}")]
fn open_loop(world: &mut SwarmWorld, interval: DurationParam) {
    world.config.load = Load::Open {
        interval: interval.0,
    };
}

/// The coordinator fails that share of calls at random, reproducibly from the seed.
#[given(expr = "the coordinator fails {percent} of calls")]
fn error_rate(world: &mut SwarmWorld, rate: Percent) {
    let rate = rate.0;
    world.config.faults.error_rate = rate;
}

/// The coordinator applies that share of calls and then loses their answers, reproducibly
/// from the seed: the agent sees an indefinite error for a call that took effect.
#[given(expr = "the coordinator loses the answers to {percent} of calls after applying them")]
fn lost_answers(world: &mut SwarmWorld, rate: Percent) {
    world.config.faults.lost_answer_rate = rate.0;
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

/// The run's span closed within that long (simulated time in deterministic mode, the real
/// clock in throughput mode) and every session closed.
#[then(expr = "the run ended within {duration}")]
fn ended(world: &mut SwarmWorld, bound: DurationParam) -> anyhow::Result<()> {
    let bound = bound.0;
    let spans = &world.evidence()?.spans;
    let verdict = evidence::resilience::run_ended_within(spans, bound.as_secs_f64());
    world.judge(verdict)
}
