//! `DeploymentPlan`: everything a scenario says about a deploy session, and `run`, which
//! plays one `Action` in a fresh simulation and hands back the evidence it left.

use std::sync::Arc;

use serde::Serialize;

use super::environment::{Environment, EnvironmentTable};
use super::fleet::RouterDiscipline;
use super::locks::Competitor;
use super::pipeline;
use super::sim::DeploySim;
use super::strategy::Strategy;
use super::traffic::CLIENT_COUNT_MAX;
use super::version::VersionCatalog;
use crate::error::{Error, Result};
use crate::evidence::Evidence;
use crate::telemetry::Capture;

/// What a session does once its plan is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Deploy `version` to `environment`.
    Deploy {
        /// Where.
        environment: Environment,
        /// What.
        version: String,
    },
    /// Deploy `version` to `environment`, while a second deploy of `competitor` to the same
    /// environment is requested `after_ms` into it.
    DeployContested {
        /// Where both deploys go.
        environment: Environment,
        /// The first deploy's version.
        version: String,
        /// The second deploy's version.
        competitor: String,
        /// How long after the first deploy starts the second is requested, simulated.
        after_ms: u64,
    },
    /// Promote `version` from one environment to the next, gated on the first's health.
    Promote {
        /// Where it runs now.
        from: Environment,
        /// Where it should go.
        to: Environment,
        /// What.
        version: String,
    },
    /// Deploy `version` to dev and promote it through staging to production.
    ThroughAll {
        /// What.
        version: String,
    },
}

/// A deploy session as a scenario describes it.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentPlan {
    /// Client agents sending requests while deploys run.
    pub client_count: usize,
    /// Environments' fleets, thresholds and initial versions.
    pub table: EnvironmentTable,
    /// How each version behaves.
    pub catalog: VersionCatalog,
    /// How every deploy in the session moves traffic.
    pub strategy: Strategy,
    /// Per environment (in `Environment::ALL` order), a share of requests that fail
    /// whatever the version: a fault of the environment itself.
    pub extra_error_rate: [f64; 3],
    /// The router's discipline (only tests of the checks break it).
    pub discipline: RouterDiscipline,
}

impl Default for DeploymentPlan {
    fn default() -> Self {
        Self {
            client_count: 100,
            table: EnvironmentTable::defaults(),
            catalog: VersionCatalog::default(),
            strategy: Strategy::Rolling { batch_size: 5 },
            extra_error_rate: [0.0; 3],
            discipline: RouterDiscipline::ReadyOnly,
        }
    }
}

/// What a session says about itself. Evidence checks never read it: it is for messages.
#[derive(Debug, Default)]
pub struct DeployReport {
    /// Deploy requests refused, as the typed errors their requesters got.
    pub refusals: Vec<Error>,
    /// Simulated length of the session.
    pub duration_ns: u64,
}

impl DeploymentPlan {
    /// Rejects a plan that cannot run.
    pub fn validate(&self) -> Result<()> {
        if self.client_count == 0 || self.client_count > CLIENT_COUNT_MAX {
            return Err(Error::InvalidDeployment(format!(
                "client count must be 1 to {CLIENT_COUNT_MAX}, got {}",
                self.client_count
            )));
        }
        if let Some(rate) = self
            .extra_error_rate
            .iter()
            .find(|r| !(0.0..=1.0).contains(*r))
        {
            return Err(Error::InvalidDeployment(format!(
                "an injected error rate must be between 0 and 1, got {rate}"
            )));
        }
        self.table.validate()?;
        self.strategy.validate()
    }

    /// Whether every version `action` deploys is healthy and no environment has an injected
    /// fault: the condition under which "zero failed requests" is a fair claim. (The
    /// versions already running are not deployed, so they do not count.)
    pub fn deploys_only_good(&self, action: &Action) -> bool {
        let versions: Vec<&str> = match action {
            Action::Deploy { version, .. }
            | Action::Promote { version, .. }
            | Action::ThroughAll { version } => vec![version],
            Action::DeployContested {
                version,
                competitor,
                ..
            } => vec![version, competitor],
        };
        let healthy_router = self.discipline == RouterDiscipline::ReadyOnly;
        healthy_router
            && self.extra_error_rate.iter().all(|rate| *rate == 0.0)
            && versions
                .iter()
                .all(|v| self.catalog.behaviour(v) == super::version::Behaviour::Good)
    }

    /// Plays `action` in a fresh simulation seeded with `seed` and returns its evidence.
    ///
    /// The simulation gets a thread of its own: the SDK's simple span processor blocks on
    /// each export and refuses to run inside another executor (cucumber's, or a caller's).
    pub fn run(&self, action: &Action, seed: u64) -> Result<(Evidence, DeployReport)> {
        self.validate()?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.run_here(action, seed))
                .join()
                .map_err(|_| Error::Capture("the deploy simulation panicked".into()))?
        })
    }

    fn run_here(&self, action: &Action, seed: u64) -> Result<(Evidence, DeployReport)> {
        let capture = Arc::new(Capture::new(seed));
        let mut sim = DeploySim::new(self, seed, Arc::clone(&capture));
        let strategy = &self.strategy;
        match action {
            Action::Deploy {
                environment,
                version,
            } => {
                pipeline::deploy(&mut sim, *environment, version, strategy)?;
            }
            Action::DeployContested {
                environment,
                version,
                competitor,
                after_ms,
            } => {
                sim.schedule(Competitor {
                    at_ns: pipeline::WARMUP_NS + after_ms * 1_000_000,
                    environment: *environment,
                    version: competitor.clone(),
                });
                pipeline::deploy(&mut sim, *environment, version, strategy)?;
            }
            Action::Promote { from, to, version } => {
                pipeline::promote(&mut sim, (*from, *to), version, strategy)?;
            }
            Action::ThroughAll { version } => pipeline::through_all(&mut sim, version, strategy)?,
        }
        // Requests that found their environment free wait for the deploy before them.
        let queued = std::mem::take(&mut sim.queued);
        for competitor in queued {
            pipeline::deploy(
                &mut sim,
                competitor.environment,
                &competitor.version,
                strategy,
            )?;
        }
        let report = DeployReport {
            refusals: std::mem::take(&mut sim.refusals),
            duration_ns: sim.now_ns(),
        };
        sim.finish();
        Ok((Evidence::from_capture(&capture)?, report))
    }
}
