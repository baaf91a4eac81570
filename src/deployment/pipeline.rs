//! Deploys and promotions: the entry points that take an environment's lock, wrap a rollout
//! in its `deploy.run` span, and gate promotion dev → staging → production on the health of
//! the environment a version comes from.

use opentelemetry::KeyValue;
use serde::Serialize;

use super::environment::Environment;
use super::rollout::{Rollout, RolloutOutcome};
use super::sim::DeploySim;
use super::strategy::Strategy;
use crate::error::Result;

/// Traffic that flows before a deploy starts, so its first health window is not the first
/// traffic the environment sees.
pub const WARMUP_NS: u64 = 2_000_000_000;
/// Traffic that flows after a deploy ends, so the evidence shows what the fleet serves then.
pub const SETTLE_NS: u64 = 5_000_000_000;

/// Whether a version moved on to the next environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Promotion {
    /// The source was healthy and ran the version: it was deployed to the target.
    Promoted,
    /// It was not, and the target was left alone.
    Blocked {
        /// Why, in words.
        reason: String,
    },
}

/// Deploys `version` to `env` with `strategy` while clients send traffic to `env`.
///
/// Refused with `Error::DeployInProgress` if another deploy holds `env` (the refusal is a
/// `deploy.run` span with outcome `refused`). A rollout that rolls back is not an error
/// here: it is the outcome, recorded on the span with status error.
pub fn deploy(
    sim: &mut DeploySim,
    env: Environment,
    version: &str,
    strategy: &Strategy,
) -> Result<RolloutOutcome> {
    sim.active = Some(env);
    sim.wait(WARMUP_NS);
    sim.acquire(env, version, sim.now_ns())?;
    let previous = sim.last_good[env as usize].clone();
    let attributes = vec![
        KeyValue::new("deploy.environment", env.as_str()),
        KeyValue::new("deploy.version", version.to_owned()),
        KeyValue::new("deploy.strategy", strategy.name()),
        KeyValue::new("deploy.previous_version", previous.clone()),
        KeyValue::new("deploy.instance_count", sim.fleet(env).len() as i64),
    ];
    let run = sim.spans.open("deploy.run", sim.now_ns(), attributes, None);
    let unchanged = sim
        .fleet(env)
        .slots_where(|i| i.version != version)
        .is_empty();
    let outcome = if unchanged {
        RolloutOutcome::Succeeded
    } else {
        let rollout = Rollout {
            environment: env,
            version,
            previous: &previous,
            strategy,
            run: &run,
        };
        rollout.execute(sim)
    };
    let (label, error) = match &outcome {
        RolloutOutcome::Succeeded => ("succeeded", None),
        RolloutOutcome::RolledBack { reason } => ("rolled_back", Some(reason.as_str())),
    };
    let end_ns = sim.now_ns();
    sim.spans.close(
        run,
        end_ns,
        vec![KeyValue::new("deploy.outcome", label)],
        error,
    );
    if outcome == RolloutOutcome::Succeeded {
        sim.last_good[env as usize] = version.to_owned();
    }
    sim.locks.release(env);
    sim.wait(SETTLE_NS);
    Ok(outcome)
}

/// Promotes `version` from `from` to `to`: only if `from` runs it on every instance and a
/// health window over all of `from`'s traffic holds. The decision is a `deploy.promotion`
/// span; a blocked promotion leaves `to` untouched.
pub fn promote(
    sim: &mut DeploySim,
    (from, to): (Environment, Environment),
    version: &str,
    strategy: &Strategy,
) -> Result<Promotion> {
    sim.active = Some(from);
    let start_ns = sim.now_ns();
    let runs_version = sim.last_good[from as usize] == version
        && sim
            .fleet(from)
            .slots_where(|i| i.version != version)
            .is_empty();
    let gate = sim.watch(from, None, "environment", None);
    let promotion = if !runs_version {
        Promotion::Blocked {
            reason: format!("{} does not run {version}", from.as_str()),
        }
    } else if !gate.healthy {
        Promotion::Blocked {
            reason: format!("{} is unhealthy: {}", from.as_str(), gate.reason),
        }
    } else {
        Promotion::Promoted
    };
    let (label, reason) = match &promotion {
        Promotion::Promoted => ("promoted", "healthy".to_owned()),
        Promotion::Blocked { reason } => ("blocked", reason.clone()),
    };
    let attributes = vec![
        KeyValue::new("deploy.environment", to.as_str()),
        KeyValue::new("deploy.from", from.as_str()),
        KeyValue::new("deploy.to", to.as_str()),
        KeyValue::new("deploy.version", version.to_owned()),
        KeyValue::new("deploy.outcome", label),
        KeyValue::new("deploy.reason", reason),
    ];
    let at = (start_ns, sim.now_ns());
    sim.spans
        .record("deploy.promotion", at, attributes, None, None);
    if promotion == Promotion::Promoted {
        deploy(sim, to, version, strategy)?;
    }
    Ok(promotion)
}

/// Deploys `version` to dev, then promotes it environment by environment until production
/// or the first blocked promotion.
pub fn through_all(sim: &mut DeploySim, version: &str, strategy: &Strategy) -> Result<()> {
    deploy(sim, Environment::Dev, version, strategy)?;
    let mut from = Environment::Dev;
    // Bounded: at most one promotion per environment after dev.
    while let Some(to) = from.next() {
        if promote(sim, (from, to), version, strategy)? != Promotion::Promoted {
            break;
        }
        from = to;
    }
    Ok(())
}
