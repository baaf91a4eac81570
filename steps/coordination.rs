//! Steps that shape and run a swarm, and `Then` steps about coordination behaviour.

use std::time::Duration;

use cucumber::{given, then, when};
use swarmspec::coordination::breaker::BreakerConfig;
use swarmspec::coordination::retry::RetryPolicy;
use swarmspec::coordination::{ClaimDiscipline, Role};
use swarmspec::evidence::{self, Verdict};
use swarmspec::swarm::{Contention, CrashFault, Mode, OutageFault};

use super::SwarmWorld;

fn role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text).ok_or_else(|| {
        anyhow::anyhow!("unknown role «{text}»: use pm, architect, developer, tester or release")
    })
}

fn roles(text: &str) -> anyhow::Result<Vec<Role>> {
    text.split(['→', ','])
        .map(|part| role(part.replace("->", "").trim()))
        .collect()
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

#[given(expr = "a swarm of {int} {word} agents")]
fn swarm_of(world: &mut SwarmWorld, agents: usize, kind: String) -> anyhow::Result<()> {
    world.config.agent_count = agents;
    world.config.pipeline = vec![role(&kind)?];
    world.config.team_sizes.clear();
    Ok(())
}

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

#[given(expr = "{int} work items")]
fn work_items(world: &mut SwarmWorld, items: usize) {
    world.config.item_count = items;
}

#[given("the agents race for the same items")]
fn race(world: &mut SwarmWorld) {
    world.config.contention = Contention::High;
}

#[given("the agents are handed different items")]
fn spread(world: &mut SwarmWorld) {
    world.config.contention = Contention::Spread;
}

#[given(expr = "the agents race {word}")]
fn contention_named(world: &mut SwarmWorld, how: String) -> anyhow::Result<()> {
    world.config.contention = match how.as_str() {
        "high" => Contention::High,
        "spread" => Contention::Spread,
        other => anyhow::bail!("unknown contention «{other}»: use high or spread"),
    };
    Ok(())
}

#[given(expr = "{word} mode")]
fn run_mode(world: &mut SwarmWorld, mode: String) -> anyhow::Result<()> {
    world.config.mode = Mode::parse(&mode)
        .ok_or_else(|| anyhow::anyhow!("unknown mode «{mode}»: use deterministic or throughput"))?;
    Ok(())
}

#[given(expr = "seed {int}")]
fn with_seed(world: &mut SwarmWorld, seed: u64) {
    world.config.seed = seed;
}

#[given(expr = "teams of sizes {string}")]
fn team_sizes(world: &mut SwarmWorld, sizes: String) -> anyhow::Result<()> {
    world.config.team_sizes = sizes
        .split(',')
        .map(|size| size.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|error| anyhow::anyhow!("team sizes «{sizes}»: {error}"))?;
    Ok(())
}

#[given(expr = "each stage takes {int} ms of work on average")]
fn work_time(world: &mut SwarmWorld, millis: u64) {
    world.config.delays.work_time_mean = ms(millis);
}

#[given(expr = "{int} progress reports per stage")]
fn progress_reports(world: &mut SwarmWorld, reports: u8) {
    world.config.progress_reports = reports;
}

#[given(expr = "leases last {int} ms")]
fn lease(world: &mut SwarmWorld, millis: u64) {
    world.config.lease_duration = ms(millis);
}

#[given(expr = "{int} agents crash at {int} ms")]
fn crash(world: &mut SwarmWorld, agents: usize, at: u64) {
    world.config.faults.crash = Some(CrashFault {
        agent_count: agents,
        at: ms(at),
    });
}

#[given(expr = "the coordinator is unavailable from {int} ms for {int} ms")]
fn outage(world: &mut SwarmWorld, start: u64, length: u64) {
    world.config.faults.outage = Some(OutageFault {
        start: ms(start),
        length: ms(length),
    });
}

#[given(expr = "retries wait {int} ms, doubling, with {int} % jitter, at most {int} times")]
fn retry_policy(world: &mut SwarmWorld, base: u64, jitter_percent: u32, retries: u32) {
    world.config.retry = RetryPolicy {
        base_delay: ms(base),
        multiplier: 2.0,
        max_delay: ms(base * 64),
        jitter_fraction: f64::from(jitter_percent) / 100.0,
        retries_max: retries,
    };
}

#[given(expr = "circuit breakers open after {int} failures and cool down for {int} ms")]
fn breaker(world: &mut SwarmWorld, failures: u32, cooldown: u64) {
    world.config.breaker = BreakerConfig {
        failure_threshold: failures,
        cooldown: ms(cooldown),
    };
}

#[given("the engine is broken so that a claim overwrites the holder")]
fn broken_engine(world: &mut SwarmWorld) {
    world.config.discipline = ClaimDiscipline::BlindWrite;
}

#[when("the swarm runs")]
fn runs(world: &mut SwarmWorld) -> anyhow::Result<()> {
    world.run_swarm()
}

#[when("the swarm runs twice with the same seed")]
fn runs_twice(world: &mut SwarmWorld) -> anyhow::Result<()> {
    for _ in 0..2 {
        world.run_swarm()?;
        let spans = &world.evidence()?.spans;
        world.digests.push(evidence::digest::span_digest(spans));
    }
    Ok(())
}

#[when("the swarm runs again with the next seed")]
fn runs_next_seed(world: &mut SwarmWorld) -> anyhow::Result<()> {
    world.config.seed += 1;
    world.run_swarm()?;
    let digest = evidence::digest::span_digest(&world.evidence()?.spans);
    world.digests.push(digest);
    Ok(())
}

#[then("both runs produced the same span digest")]
fn same_digest(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::digest::digests_agree(&world.digests[..world.digests.len().min(2)]);
    world.judge(verdict)
}

#[then("the run with the next seed produced a different span digest")]
fn different_digest(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::digest::last_digest_differs(&world.digests);
    world.judge(verdict)
}

#[then("no work item was held by two agents at the same time")]
fn no_double_holds(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::history::no_overlapping_holds(&world.evidence()?.spans);
    world.judge(verdict)
}

#[then("the double-hold check fails, naming the item and both agents")]
fn double_hold_caught(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let inner = evidence::history::no_overlapping_holds(&world.evidence()?.spans);
    world.judge(Verdict::expect_refuted(inner))
}

#[then("every submitted work item is completed")]
fn all_finished(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let last_stage = world.config.pipeline.len().saturating_sub(1);
    let verdict = evidence::history::every_item_finished(&world.evidence()?.spans, last_stage);
    world.judge(verdict)
}

#[then("every reaped item was claimed again by another agent")]
fn reaped_reclaimed(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::history::reaped_items_reclaimed(&world.evidence()?.spans);
    world.judge(verdict)
}

#[then(expr = "every item passed {string} in order")]
fn stage_order(world: &mut SwarmWorld, pipeline: String) -> anyhow::Result<()> {
    let names: Vec<&str> = roles(&pipeline)?.into_iter().map(Role::as_str).collect();
    let verdict = evidence::history::stages_in_role_order(&world.evidence()?.spans, &names);
    world.judge(verdict)
}

#[then(expr = "claims per agent differ across teams by at most {int} %")]
fn balanced(world: &mut SwarmWorld, percent: u32) -> anyhow::Result<()> {
    let bound = f64::from(percent) / 100.0;
    let verdict = evidence::load::per_agent_claims_balanced(&world.evidence()?.spans, bound);
    world.judge(verdict)
}

#[then(expr = "retries of {string} waited as the backoff policy says")]
fn backoff(world: &mut SwarmWorld, op: String) -> anyhow::Result<()> {
    let policy = world.config.retry;
    let verdict = evidence::backoff::retries_follow_policy(&world.evidence()?.spans, &op, &policy);
    world.judge(verdict)
}

#[then("a circuit breaker opened and closed again")]
fn breaker_cycled(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::breaker::full_cycle_observed(&world.evidence()?.spans);
    world.judge(verdict)
}

#[then("no agent called the coordinator while its circuit was open")]
fn breaker_silent(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::breaker::silent_while_open(&world.evidence()?.spans);
    world.judge(verdict)
}

#[then(expr = "the {int} agent ids are unique and sortable by creation time")]
fn ids_sortable(world: &mut SwarmWorld, count: usize) -> anyhow::Result<()> {
    let verdict =
        evidence::identity::agent_ids_unique_and_sortable(&world.evidence()?.spans, count);
    world.judge(verdict)
}
