//! Steps that shape and run a simulated deploy session, and `Then` steps about deploys.
//! Each `When` leaves the session's spans in `world.evidence`, so the generic steps in
//! `telemetry.rs` work on deploys too.

use crate::deployment::{Action, Behaviour, RouterDiscipline, Strategy};
use crate::evidence::{self, Verdict};
use cucumber::{given, then, when};

use super::parameters::{DurationParam, EnvironmentParam, Percent};
use super::SwarmWorld;

/// Plays `action` in a fresh simulation seeded like the scenario, keeping its evidence.
fn run(world: &mut SwarmWorld, action: Action) -> anyhow::Result<()> {
    let (evidence, _report) = world.deployment.run(&action, world.config.seed)?;
    world.evidence = Some(evidence);
    world.run_record = super::record::deploy(world.deployment.deploys_only_good(&action));
    Ok(())
}

fn spans(world: &SwarmWorld) -> anyhow::Result<&[crate::telemetry::SpanRecord]> {
    Ok(&world.evidence()?.spans)
}

/// Client agents that send requests to the environment while it deploys.
#[given(expr = "{int} client agents sending one request per second")]
fn clients(world: &mut SwarmWorld, count: usize) {
    world.deployment.client_count = count;
}

/// How many instances an environment runs.
#[given(expr = "{environment} has {int} instances")]
fn instances(world: &mut SwarmWorld, name: EnvironmentParam, count: usize) {
    world.deployment.table.get_mut(name.0).instance_count = count;
}

/// The version an environment runs before the scenario acts.
#[given(expr = "{environment} runs {string}")]
fn runs_version(world: &mut SwarmWorld, name: EnvironmentParam, version: String) {
    world.deployment.table.get_mut(name.0).version = version;
}

/// The environment fails that share of requests whatever version it runs.
#[given(expr = "{environment} fails {percent} of requests whatever the version")]
fn environment_fault(world: &mut SwarmWorld, name: EnvironmentParam, rate: Percent) {
    let rate = rate.0;
    world.deployment.extra_error_rate[name.0 as usize] = rate;
}

/// Deploy strategy: rolling (batch size), blue-green, or canary (traffic steps).
#[given(regex = r"^a (rolling|blue-green|canary) strategy(?: with (?:batches of|steps) (.+))?$")]
fn strategy(world: &mut SwarmWorld, name: String, detail: String) -> anyhow::Result<()> {
    let strategy = Strategy::parse(&name, &detail)?;
    strategy.validate()?;
    world.deployment.strategy = strategy;
    Ok(())
}

/// That version never passes its readiness probe.
#[given(expr = "version {string} fails readiness")]
fn fails_readiness(world: &mut SwarmWorld, version: String) -> anyhow::Result<()> {
    Ok(world
        .deployment
        .catalog
        .set(&version, Behaviour::FailsReadiness)?)
}

/// That version fails that share of the requests it serves.
#[given(expr = "version {string} fails {percent} of requests")]
fn fails_requests(
    world: &mut SwarmWorld,
    version: String,
    error_rate: Percent,
) -> anyhow::Result<()> {
    let error_rate = error_rate.0;
    let behaviour = Behaviour::RaisesErrorRate { error_rate };
    Ok(world.deployment.catalog.set(&version, behaviour)?)
}

/// That version takes that long per request on average.
#[given(expr = "version {string} takes {duration} per request on average")]
fn slow(world: &mut SwarmWorld, version: String, latency: DurationParam) -> anyhow::Result<()> {
    let latency = latency.0;
    let behaviour = Behaviour::RaisesLatency {
        latency_ms_mean: latency.as_secs_f64() * 1_000.0,
    };
    Ok(world.deployment.catalog.set(&version, behaviour)?)
}

/// Breaks the router on purpose (it ignores readiness), to show the check catches it.
#[given("the router is broken so that it ignores readiness")]
fn broken_router(world: &mut SwarmWorld) {
    world.deployment.discipline = RouterDiscipline::IgnoreReadiness;
}

/// Deploys a version to an environment under live traffic; keeps the spans as evidence.
#[when(expr = "{string} is deployed to {environment}")]
fn deployed(
    world: &mut SwarmWorld,
    version: String,
    environment: EnvironmentParam,
) -> anyhow::Result<()> {
    let environment = environment.0;
    run(
        world,
        Action::Deploy {
            environment,
            version,
        },
    )
}

/// Starts a deploy, then asks for a second one to the same environment while it runs.
#[when(
    expr = "{string} is deployed to {environment} and {string} is requested there {duration} later"
)]
fn contested(
    world: &mut SwarmWorld,
    version: String,
    environment: EnvironmentParam,
    competitor: String,
    after: DurationParam,
) -> anyhow::Result<()> {
    let environment = environment.0;
    let after = after.0;
    let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    let action = Action::DeployContested {
        environment,
        version,
        competitor,
        after_ms,
    };
    run(world, action)
}

/// Promotes a version from one environment to the next, gated on the source's health.
#[when(expr = "{string} is promoted from {environment} to {environment}")]
fn promoted(
    world: &mut SwarmWorld,
    version: String,
    from: EnvironmentParam,
    to: EnvironmentParam,
) -> anyhow::Result<()> {
    let from = from.0;
    let to = to.0;
    run(world, Action::Promote { from, to, version })
}

/// Promotes a version through dev, staging and production in turn.
#[when(expr = "{string} is promoted through dev, staging and production")]
fn through_all(world: &mut SwarmWorld, version: String) -> anyhow::Result<()> {
    run(world, Action::ThroughAll { version })
}

/// Deploys the same version twice with one seed and keeps both span digests.
#[when(expr = "{string} is deployed to {environment} twice with the same seed")]
fn twice(
    world: &mut SwarmWorld,
    version: String,
    environment: EnvironmentParam,
) -> anyhow::Result<()> {
    let environment = environment.0;
    for _ in 0..2 {
        let action = Action::Deploy {
            environment,
            version: version.clone(),
        };
        run(world, action)?;
        let digest = evidence::digest::span_digest(spans(world)?);
        world.digests.push(digest);
    }
    Ok(())
}

/// No `request` span in that environment has outcome failed.
#[then(expr = "no request failed in {environment}")]
fn no_failed_requests(world: &mut SwarmWorld, name: EnvironmentParam) -> anyhow::Result<()> {
    let name = name.0.as_str();
    let verdict = evidence::deployment::failed_requests_at_most(spans(world)?, Some(name), 0);
    world.judge(verdict)
}

/// No request reached an instance that was not ready at the time.
#[then("no request reached an instance that was not ready")]
fn no_unready_traffic(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = evidence::deployment::no_traffic_to_unready(spans(world)?);
    world.judge(verdict)
}

/// The unready-traffic check fails and names the requests (for a broken router).
#[then("the unready-traffic check fails, naming the requests")]
fn unready_traffic_caught(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let inner = evidence::deployment::no_traffic_to_unready(spans(world)?);
    world.judge(Verdict::expect_refuted(inner))
}

/// The zero-downtime check fails for that environment and counts the failed requests (for a
/// deploy broken on purpose).
#[then(expr = "the zero-downtime check fails for {environment}, counting the failed requests")]
fn zero_downtime_caught(world: &mut SwarmWorld, name: EnvironmentParam) -> anyhow::Result<()> {
    let name = name.0.as_str();
    let inner = evidence::deployment::failed_requests_at_most(spans(world)?, Some(name), 0);
    world.judge(Verdict::expect_refuted(inner))
}

/// No request was served by that version.
#[then(expr = "{string} never received traffic")]
fn never_served(world: &mut SwarmWorld, version: String) -> anyhow::Result<()> {
    let verdict = evidence::deployment::version_never_served(spans(world)?, &version);
    world.judge(verdict)
}

/// After the rollback, every instance of the environment runs that version again.
#[then(expr = "the rollback in {environment} restored {string} on every instance")]
fn restored(
    world: &mut SwarmWorld,
    environment: EnvironmentParam,
    version: String,
) -> anyhow::Result<()> {
    let environment = environment.0;
    let count = world.deployment.table.get(environment).instance_count;
    let name = environment.as_str();
    let verdict = evidence::deployment::rollback_restored(spans(world)?, name, &version, count);
    world.judge(verdict)
}

/// The canary was rolled back before reaching that share of traffic; reports the error budget used.
#[then(
    expr = "the canary of {string} in {environment} was rolled back before {int} % of traffic, reporting the error budget consumed"
)]
fn canary_stopped(
    world: &mut SwarmWorld,
    version: String,
    environment: EnvironmentParam,
    limit: u8,
) -> anyhow::Result<()> {
    let environment = environment.0;
    let error_rate_max = world
        .deployment
        .table
        .get(environment)
        .health
        .error_rate_max;
    let name = environment.as_str();
    let spans = spans(world)?;
    let verdict =
        evidence::rollout::canary_rolled_back_before(spans, name, &version, limit, error_rate_max);
    world.judge(verdict)
}

/// Every `deploy.run` span for that environment lasted at most that many simulated seconds.
#[then(expr = "every deploy to {environment} took at most {duration}")]
fn duration(
    world: &mut SwarmWorld,
    name: EnvironmentParam,
    bound: DurationParam,
) -> anyhow::Result<()> {
    let bound = bound.0;
    let name = name.0.as_str();
    let verdict =
        evidence::rollout::deploy_duration_within(spans(world)?, name, bound.as_secs_f64());
    world.judge(verdict)
}

/// The promotion was refused because the source environment was unhealthy.
#[then(
    expr = "the promotion from {environment} to {environment} was blocked because {environment} was unhealthy"
)]
fn blocked(
    world: &mut SwarmWorld,
    from: EnvironmentParam,
    to: EnvironmentParam,
    unhealthy: EnvironmentParam,
) -> anyhow::Result<()> {
    let from = from.0;
    let to = to.0;
    let unhealthy = unhealthy.0;
    if unhealthy != from {
        anyhow::bail!("a promotion is gated on its source: say «because {from} was unhealthy»");
    }
    let verdict = evidence::rollout::promotion_blocked(spans(world)?, from.as_str(), to.as_str());
    world.judge(verdict)
}

/// The second deploy to that environment was refused while the first ran.
#[then(expr = "the second deploy to {environment} was refused")]
fn refused(world: &mut SwarmWorld, name: EnvironmentParam) -> anyhow::Result<()> {
    let verdict = evidence::rollout::concurrent_deploys_refused(spans(world)?, name.0.as_str());
    world.judge(verdict)
}
