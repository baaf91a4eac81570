//! Steps that shape and run a swarm, and `Then` steps about coordination behaviour.

use crate::coordination::breaker::BreakerConfig;
use crate::coordination::retry::RetryPolicy;
use crate::coordination::{Discipline, Mutant, Role};
use crate::evidence::{self, Verdict};
use crate::swarm::{Contention, CrashFault, Mode, OutageFault};
use cucumber::{given, then, when};

use super::parameters::{DurationParam, Percent, RoleParam};
use super::SwarmWorld;

/// The roles of a pipeline written `pm → architect → developer`, `pm -> developer` or
/// `pm, developer`.
pub(super) fn roles(text: &str) -> anyhow::Result<Vec<Role>> {
    text.replace("->", "→")
        .split(['→', ','])
        .map(|part| {
            Role::parse(part).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role «{}» in «{text}»: use pm, architect, developer, tester or \
                     release, separated by → or -> (or commas)",
                    part.trim()
                )
            })
        })
        .collect()
}

/// Sizes the swarm and gives every agent one role (pipeline of one stage).
#[given(expr = "a swarm of {int} {role} agents")]
fn swarm_of(world: &mut SwarmWorld, agents: usize, role: RoleParam) {
    let role = role.0;
    world.config.agent_count = agents;
    world.config.pipeline = vec![role];
    world.config.team_sizes.clear();
}

/// Sizes the swarm; items pass through the listed roles in order (`pm → developer`, `->`
/// works too), agents spread over them.
#[given(expr = "a swarm of {int} agents working the pipeline {string}")]
fn swarm_with_pipeline(
    world: &mut SwarmWorld,
    agents: usize,
    pipeline: String,
) -> anyhow::Result<()> {
    world.config.agent_count = agents;
    world.config.pipeline = roles(&pipeline)?;
    Ok(())
}

/// How many work items are submitted at the start.
#[given(expr = "{int} work items")]
fn work_items(world: &mut SwarmWorld, items: usize) {
    world.config.item_count = items;
}

/// Every agent scans the board from the top, so all race for the same items.
#[given("the agents race for the same items")]
fn race(world: &mut SwarmWorld) {
    world.config.contention = Contention::High;
}

/// A shared cursor hands each agent a different item, so races are rare.
#[given("the agents are handed different items")]
fn spread(world: &mut SwarmWorld) {
    world.config.contention = Contention::Spread;
}

/// Contention by name: `high` (race) or `spread`.
#[given(expr = "the agents race {word}")]
fn contention_named(world: &mut SwarmWorld, how: String) -> anyhow::Result<()> {
    world.config.contention = match how.as_str() {
        "high" => Contention::High,
        "spread" => Contention::Spread,
        other => anyhow::bail!("unknown contention «{other}»: use high or spread"),
    };
    Ok(())
}

/// `deterministic` (virtual time, replayable) or `throughput` (real clock, all cores).
#[given(expr = "{word} mode")]
fn run_mode(world: &mut SwarmWorld, mode: String) -> anyhow::Result<()> {
    world.config.mode = Mode::parse(&mode)
        .ok_or_else(|| anyhow::anyhow!("unknown mode «{mode}»: use deterministic or throughput"))?;
    Ok(())
}

/// The seed every random choice of the run derives from.
#[given(expr = "seed {int}")]
fn with_seed(world: &mut SwarmWorld, seed: u64) {
    world.config.seed = seed;
}

/// Splits the agents into teams (pools) of these sizes; work is balanced across them.
#[given(expr = "teams of sizes {string}")]
fn team_sizes(world: &mut SwarmWorld, sizes: String) -> anyhow::Result<()> {
    world.config.team_sizes = sizes
        .split(',')
        .map(|size| size.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|error| anyhow::anyhow!("team sizes «{sizes}»: {error}"))?;
    Ok(())
}

/// Mean simulated work per stage between claim and complete (deterministic mode).
#[given(expr = "each stage takes {duration} of work on average")]
fn work_time(world: &mut SwarmWorld, mean: DurationParam) {
    let mean = mean.0;
    world.config.delays.work_time_mean = mean;
}

/// Progress reports an agent sends per stage.
#[given(expr = "{int} progress reports per stage")]
fn progress_reports(world: &mut SwarmWorld, reports: u8) {
    world.config.progress_reports = reports;
}

/// How long a silent holder keeps its claims before the reaper reopens them.
#[given(expr = "leases last {duration}")]
fn lease(world: &mut SwarmWorld, length: DurationParam) {
    world.config.lease_duration = length.0;
}

/// That many agents stop dead at that simulated time, abandoning what they hold.
#[given(expr = "{int} agents crash at {duration}")]
fn crash(world: &mut SwarmWorld, agents: usize, at: DurationParam) {
    let at = at.0;
    world.config.faults.crash = Some(CrashFault {
        agent_count: agents,
        at,
    });
}

/// The coordinator refuses every call in that window.
#[given(expr = "the coordinator is unavailable from {duration} for {duration}")]
fn outage(world: &mut SwarmWorld, start: DurationParam, length: DurationParam) {
    world.config.faults.outage = Some(OutageFault {
        start: start.0,
        length: length.0,
    });
}

/// Retry policy: base delay, doubling, jitter and the number of retries.
#[given(expr = "retries wait {duration}, doubling, with {percent} jitter, at most {int} times")]
fn retry_policy(world: &mut SwarmWorld, base: DurationParam, jitter: Percent, retries: u32) {
    let base = base.0;
    let jitter = jitter.0;
    world.config.retry = RetryPolicy {
        base_delay: base,
        multiplier: 2.0,
        max_delay: base.saturating_mul(64),
        jitter_fraction: jitter,
        retries_max: retries,
    };
}

/// Each agent's circuit breaker: failures that open it and its cool-down.
#[given(expr = "circuit breakers open after {int} failures and cool down for {duration}")]
fn breaker(world: &mut SwarmWorld, failures: u32, cooldown: DurationParam) {
    let cooldown = cooldown.0;
    world.config.breaker = BreakerConfig {
        failure_threshold: failures,
        cooldown,
    };
}

/// Breaks the engine on purpose (claims overwrite the holder), to show the checker catches it.
#[given("the engine is broken so that a claim overwrites the holder")]
fn broken_engine(world: &mut SwarmWorld) {
    world.config.discipline = Discipline::Mutant(Mutant::BlindWrite);
}

/// The run stops (and says so) after this long, simulated or real: a bound for scenarios
/// whose engine may never let the work finish.
#[given(expr = "the run stops after {duration}")]
fn deadline(world: &mut SwarmWorld, after: DurationParam) {
    world.config.deadline = after.0;
}

/// Runs the swarm into a fresh capture; every later Then reads that capture.
#[when("the swarm runs")]
fn runs(world: &mut SwarmWorld) -> anyhow::Result<()> {
    world.run_swarm()
}

/// Runs the same swarm twice and keeps both span digests.
#[when("the swarm runs twice with the same seed")]
fn runs_twice(world: &mut SwarmWorld) -> anyhow::Result<()> {
    for _ in 0..2 {
        world.run_swarm()?;
        let spans = &world.evidence()?.spans;
        world.digests.push(evidence::digest::span_digest(spans));
    }
    Ok(())
}

/// Runs again with the seed plus one and keeps its digest.
#[when("the swarm runs again with the next seed")]
fn runs_next_seed(world: &mut SwarmWorld) -> anyhow::Result<()> {
    world.config.seed += 1;
    world.run_swarm()?;
    let digest = evidence::digest::span_digest(&world.evidence()?.spans);
    world.digests.push(digest);
    Ok(())
}

/// The two runs with one seed produced identical spans, in order.
#[then("both runs produced the same span digest")]
fn same_digest(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::digest::digests_agree(&world.digests[..world.digests.len().min(2)]);
    world.judge(verdict)
}

/// The run with another seed produced different spans (the digest is not constant).
#[then("the run with the next seed produced a different span digest")]
fn different_digest(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::digest::last_digest_differs(&world.digests);
    world.judge(verdict)
}

/// No item was held by two agents at overlapping times (rebuilt from claim/complete/release/reap spans).
#[then("no work item was held by two agents at the same time")]
fn no_double_holds(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::history::no_overlapping_holds(&world.evidence()?.spans);
    world.judge(verdict)
}

/// Every acknowledged progress, complete, release and handoff came from the agent holding
/// the item at that moment (holds rebuilt from claim, completion, release, handoff and reap spans).
#[then("every acknowledged write came from the agent holding the item")]
fn writes_from_holder(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::ownership::writes_from_holder(&world.evidence()?.spans);
    world.judge(verdict)
}

/// The double-hold check fails and names the item and both agents (for a broken engine).
#[then("the double-hold check fails, naming the item and both agents")]
fn double_hold_caught(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let inner = evidence::history::no_overlapping_holds(&world.evidence()?.spans);
    world.judge(Verdict::expect_refuted(inner))
}

/// Every submitted item has a completed `work.complete` at its last stage.
#[then("every submitted work item is completed")]
fn all_finished(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let last_stage = world.config.pipeline.len().saturating_sub(1);
    let verdict = evidence::history::every_item_finished(&world.evidence()?.spans, last_stage);
    world.judge(verdict)
}

/// Every item the reaper reopened was later claimed by a different agent.
#[then("every reaped item was claimed again by another agent")]
fn reaped_reclaimed(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::history::reaped_items_reclaimed(&world.evidence()?.spans);
    world.judge(verdict)
}

/// Every item's stages were claimed by the listed roles, each after the previous completed.
#[then(expr = "every item passed {string} in order")]
fn stage_order(world: &mut SwarmWorld, pipeline: String) -> anyhow::Result<()> {
    let names: Vec<&str> = roles(&pipeline)?.into_iter().map(Role::as_str).collect();
    let verdict = evidence::history::stages_in_role_order(&world.evidence()?.spans, &names);
    world.judge(verdict)
}

/// Each work item's claims (won or lost), progress, completions, handoffs and releases by
/// the listed roles share one trace, and every listed role wrote some (`pm → architect →
/// developer`, `->` works too). swarmspec's own swarm roots each item's trace at its
/// `work.submit` span; spans a system wrote (`Given the spans recorded in …`) must carry
/// per-item trace context themselves.
#[then(expr = "a work item forms one trace across {}")]
fn one_trace_across(world: &mut SwarmWorld, pipeline: String) -> anyhow::Result<()> {
    let names: Vec<&str> = roles(&pipeline)?.into_iter().map(Role::as_str).collect();
    let verdict = evidence::traces::one_trace_across_roles(&world.evidence()?.spans, &names);
    world.judge(verdict)
}

/// Claims won per agent in each team are within that percentage of the mean.
#[then(expr = "claims per agent differ across teams by at most {int} %")]
fn balanced(world: &mut SwarmWorld, percent: u32) -> anyhow::Result<()> {
    let bound = f64::from(percent) / 100.0;
    let verdict = evidence::load::per_agent_claims_balanced(&world.evidence()?.spans, bound);
    world.judge(verdict)
}

/// Gaps between retries of that operation, from span timestamps, fit the retry policy.
#[then(expr = "retries of {string} waited as the backoff policy says")]
fn backoff(world: &mut SwarmWorld, op: String) -> anyhow::Result<()> {
    let policy = world.config.retry;
    let verdict = evidence::backoff::retries_follow_policy(&world.evidence()?.spans, &op, &policy);
    world.judge(verdict)
}

/// Some agent's breaker went closed → open → half-open → closed.
#[then("a circuit breaker opened and closed again")]
fn breaker_cycled(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::breaker::full_cycle_observed(&world.evidence()?.spans);
    world.judge(verdict)
}

/// No agent called the coordinator while its circuit was open.
#[then("no agent called the coordinator while its circuit was open")]
fn breaker_silent(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::breaker::silent_while_open(&world.evidence()?.spans);
    world.judge(verdict)
}

/// That many agent ids: unique, well-formed, and ordered by creation time.
#[then(expr = "the {int} agent ids are unique and sortable by creation time")]
fn ids_sortable(world: &mut SwarmWorld, count: usize) -> anyhow::Result<()> {
    let verdict =
        evidence::identity::agent_ids_unique_and_sortable(&world.evidence()?.spans, count);
    world.judge(verdict)
}
