//! How agents react to failures and crowds: backing off after a lost claim, starting all
//! at once, and Then steps over give-ups, retry limits, waits and same-instant claims, each
//! decided from span timestamps and attempt numbers (`evidence::retries`).

use crate::evidence;
use cucumber::{given, then};

use super::parameters::DurationParam;
use super::telemetry::guarded;
use super::SwarmWorld;
use crate::evidence::vocabulary::Intent;

/// After losing a claim, an agent waits that long before looking for work again.
#[given(expr = "agents wait {duration} after losing a claim")]
fn conflict_backoff(world: &mut SwarmWorld, wait: DurationParam) {
    world.config.conflict_backoff = wait.0;
}

/// Deterministic mode: every agent registers at time 0 and makes its first call with no
/// simulated service time, so they all reach the coordinator at one virtual instant
/// (without it, agents arrive 0.4–2.3 ms apart and the first wins unopposed). With
/// `the agents race for the same items`, they all claim the first item together.
#[given("the agents start at the same instant")]
fn burst_start(world: &mut SwarmWorld) {
    world.config.burst_start = true;
}

/// An agent stops waiting for an answer after that long: the call fails as indefinite
/// (`error.definite` = false, it may have applied) and is retried by the retry policy. It
/// cuts short the waits swarmspec imposes (simulated service time, a coordinator stall);
/// a process or command system's own slowness is bounded by that system's timeouts.
#[given(expr = "coordinator calls time out after {duration}")]
fn call_timeout(world: &mut SwarmWorld, timeout: DurationParam) -> anyhow::Result<()> {
    if timeout.0.is_zero() {
        anyhow::bail!("a call timeout must be longer than 0");
    }
    world.config.call_timeout = Some(timeout.0);
    Ok(())
}

/// Some agent's call of that operation failed on its first try and on every one of that
/// many retries, and was not tried again (the retry policy's limit, seen in the spans).
#[then(expr = "an agent gave up on {string} after {int} retries")]
fn gave_up(world: &mut SwarmWorld, op: String, retries: u32) -> anyhow::Result<()> {
    guarded(world, &[&op], None, Intent::Present, |spans| {
        evidence::retries::gave_up_after(spans, &op, retries)
    })
}

/// No span of any operation has a `work.attempt` above that number, and some call was
/// retried at all.
#[then(expr = "no call was retried more than {int} times")]
fn retried_at_most(world: &mut SwarmWorld, retries: u32) -> anyhow::Result<()> {
    let verdict = evidence::retries::retried_at_most(&world.evidence()?.spans, retries);
    world.judge(verdict)
}

/// After every lost claim, the same agent's next call started at least that long after
/// the claim ended; at least one lost claim was followed by a call.
#[then(expr = "every agent waited at least {duration} after losing a claim")]
fn waited_after_conflicts(world: &mut SwarmWorld, wait: DurationParam) -> anyhow::Result<()> {
    let wait_ns = u64::try_from(wait.0.as_nanos()).unwrap_or(u64::MAX);
    let verdict = evidence::retries::waited_after_conflicts(&world.evidence()?.spans, wait_ns);
    world.judge(verdict)
}

/// Some work item has `work.claim` spans from at least that many distinct agents that
/// started at the same nanosecond.
#[then(expr = "at least {int} agents claimed one work item at the same instant")]
fn same_instant(world: &mut SwarmWorld, agents: usize) -> anyhow::Result<()> {
    let verdict = evidence::retries::claimed_at_one_instant(&world.evidence()?.spans, agents);
    world.judge(verdict)
}
