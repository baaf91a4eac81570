//! `DeploySim`: the discrete-event simulation every deploy runs in.
//!
//! Time is a number, not a clock: `advance_to` serves every client request due before the
//! target instant, in time order, then jumps there. Nothing reads the wall clock and every
//! random choice comes from one seeded stream, so the same seed leaves the same spans.
//! Fleet operations (drain, restart, probe, watch) are the primitives strategies compose.

use std::sync::Arc;

use opentelemetry::KeyValue;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::environment::{Environment, EnvironmentTable};
use super::fleet::{Fleet, RouterDiscipline};
use super::health::{HealthReport, Sample, HEALTH_SAMPLES_MIN, HEALTH_WINDOW_EXTENSIONS_MAX};
use super::locks::{Competitor, EnvironmentLocks};
use super::trace::{OpenSpan, SpanWriter};
use super::traffic::Schedule;
use super::version::VersionCatalog;
use super::DeploymentPlan;
use crate::error::Error;
use crate::telemetry::recorder::OpResult;
use crate::telemetry::{AgentRecorder, Capture, OpKind, TimeBase};

/// How long a draining instance keeps its connections before it stops, simulated.
pub const DRAIN_NS: u64 = 1_000_000_000;
/// How long an instance takes to start before its first readiness probe.
pub const BOOT_NS: u64 = 3_000_000_000;
/// Time between readiness probes of an instance that is not ready yet.
pub const PROBE_INTERVAL_NS: u64 = 1_000_000_000;
/// Probes an instance gets before it is declared never ready (the readiness timeout).
pub const PROBE_ATTEMPTS_MAX: u32 = 5;
/// How long a request to an instance that is not there takes to fail.
const REFUSED_LATENCY_NS: u64 = 1_000_000;

/// The simulated world of one deploy session: fleets, clients, clock and evidence writers.
pub struct DeploySim {
    now_ns: u64,
    rng: ChaCha8Rng,
    schedule: Schedule,
    /// The environments' configuration (thresholds, fleet sizes).
    pub table: EnvironmentTable,
    fleets: Vec<Fleet>,
    /// Per environment, the version the last successful deploy (or the table) installed.
    pub last_good: Vec<String>,
    catalog: VersionCatalog,
    faults: Vec<f64>,
    discipline: RouterDiscipline,
    /// The environment client traffic goes to; `None` sends no traffic.
    pub active: Option<Environment>,
    window: Vec<(Environment, String, Sample)>,
    /// Where deploy spans go.
    pub spans: SpanWriter,
    clients: AgentRecorder,
    /// Which environments a deploy holds.
    pub locks: EnvironmentLocks,
    /// Deploy requests still to arrive, latest first (the next one is popped off the end).
    competitors: Vec<Competitor>,
    /// Competing requests that found their environment free: they run once the current
    /// deploy ends (the simulation runs one deploy at a time).
    pub queued: Vec<Competitor>,
    /// Every refusal, as the typed error the requester got.
    pub refusals: Vec<Error>,
    /// The strategy name deploys in this session use (for refusal spans).
    strategy_name: &'static str,
}

impl DeploySim {
    /// A simulation of `plan` seeded with `seed`, writing into `capture`.
    pub fn new(plan: &DeploymentPlan, seed: u64, capture: Arc<Capture>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let schedule = Schedule::new(plan.client_count, &mut rng);
        let time_base = TimeBase::simulated();
        let fleets = Environment::ALL
            .iter()
            .map(|&env| {
                let config = plan.table.get(env);
                Fleet::new(env, config.instance_count, &config.version)
            })
            .collect();
        let last_good = Environment::ALL
            .iter()
            .map(|&env| plan.table.get(env).version.clone())
            .collect();
        let identity = vec![KeyValue::new("client.count", plan.client_count as i64)];
        let sim = Self {
            now_ns: 0,
            rng,
            schedule,
            table: plan.table.clone(),
            fleets,
            last_good,
            catalog: plan.catalog.clone(),
            faults: plan.extra_error_rate.to_vec(),
            discipline: plan.discipline,
            active: None,
            window: Vec::new(),
            spans: SpanWriter::new(&capture, time_base),
            clients: AgentRecorder::open(capture, time_base, "client.traffic", identity, 0),
            locks: EnvironmentLocks::default(),
            competitors: Vec::new(),
            queued: Vec::new(),
            refusals: Vec::new(),
            strategy_name: plan.strategy.name(),
        };
        // The fleets' starting state is evidence too: without it, a request to an instance
        // that was ready from the start could not be told from one that never was.
        for env in Environment::ALL {
            for slot in sim.fleet(env).slots_where(|_| true) {
                sim.record_readiness(env, slot, true, "initial", None);
            }
        }
        sim
    }

    /// Schedules a deploy request that arrives at `competitor.at_ns`, whatever runs then.
    pub fn schedule(&mut self, competitor: Competitor) {
        self.competitors.push(competitor);
        self.competitors.sort_by(|a, b| {
            b.at_ns
                .cmp(&a.at_ns)
                .then_with(|| b.version.cmp(&a.version))
        });
    }

    /// Claims `env` for a deploy of `version` at `at_ns`; a refusal is recorded as a
    /// `deploy.run` span with outcome `refused` and returned as the typed error.
    pub fn acquire(&mut self, env: Environment, version: &str, at_ns: u64) -> Result<(), Error> {
        let Err(error) = self.locks.acquire(env, version) else {
            return Ok(());
        };
        let attributes = vec![
            KeyValue::new("deploy.environment", env.as_str()),
            KeyValue::new("deploy.version", version.to_owned()),
            KeyValue::new("deploy.strategy", self.strategy_name),
            KeyValue::new("deploy.outcome", "refused"),
            KeyValue::new("deploy.reason", error.to_string()),
        ];
        self.spans
            .record("deploy.run", (at_ns, at_ns), attributes, None, None);
        Err(error)
    }

    fn admit_competitors(&mut self, until_ns: u64) {
        // Bounded: each pass pops one scheduled request.
        while self.competitors.last().is_some_and(|c| c.at_ns < until_ns) {
            let Some(competitor) = self.competitors.pop() else {
                break;
            };
            let (env, at_ns) = (competitor.environment, competitor.at_ns);
            match self.acquire(env, &competitor.version, at_ns) {
                Err(error) => self.refusals.push(error),
                Ok(()) => {
                    self.locks.release(env);
                    self.queued.push(competitor);
                }
            }
        }
    }

    /// Simulated time now.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The fleet of `env`.
    pub fn fleet(&self, env: Environment) -> &Fleet {
        &self.fleets[env as usize]
    }

    /// The fleet of `env`, to change it.
    pub fn fleet_mut(&mut self, env: Environment) -> &mut Fleet {
        &mut self.fleets[env as usize]
    }

    /// Serves every request due before `until_ns`, then sets the clock there.
    pub fn advance_to(&mut self, until_ns: u64) {
        assert!(until_ns >= self.now_ns, "simulated time runs forward");
        // Bounded: the schedule yields one request per client per interval up to `until_ns`.
        while let Some((at_ns, agent)) = self.schedule.next_before(until_ns) {
            self.serve(at_ns, agent);
        }
        self.admit_competitors(until_ns);
        self.now_ns = until_ns;
    }

    /// Advances by `duration_ns`.
    pub fn wait(&mut self, duration_ns: u64) {
        self.advance_to(self.now_ns + duration_ns);
    }

    fn serve(&mut self, at_ns: u64, agent: usize) {
        let Some(env) = self.active else {
            return;
        };
        let fleet = &self.fleets[env as usize];
        let target = fleet
            .route(&mut self.rng, self.discipline)
            .and_then(|slot| fleet.instance(slot));
        let (instance, version, served, failure) = match target {
            None => (
                "none".to_owned(),
                "none".to_owned(),
                None,
                "no ready instance",
            ),
            Some(instance) if !instance.ready => (
                instance.name.clone(),
                instance.version.clone(),
                None,
                "connection refused",
            ),
            Some(instance) => {
                let behaviour = self.catalog.behaviour(&instance.version);
                let served = behaviour.serve(&mut self.rng, self.faults[env as usize]);
                (
                    instance.name.clone(),
                    instance.version.clone(),
                    Some(served),
                    "server error",
                )
            }
        };
        let sample = served.unwrap_or(super::version::Served {
            ok: false,
            latency_ns: REFUSED_LATENCY_NS,
        });
        let attributes = vec![
            KeyValue::new("deploy.environment", env.as_str()),
            KeyValue::new("deploy.instance", instance),
            KeyValue::new("deploy.version", version.clone()),
            KeyValue::new("request.outcome", if sample.ok { "ok" } else { "failed" }),
            KeyValue::new("client.agent", agent as i64),
        ];
        let result = if sample.ok {
            OpResult::Served
        } else {
            OpResult::Failed(failure)
        };
        let end_ns = at_ns + sample.latency_ns;
        self.clients
            .op(OpKind::Request, at_ns, end_ns, attributes, result);
        let sample = Sample {
            ok: sample.ok,
            latency_ns: sample.latency_ns,
        };
        self.window.push((env, version, sample));
    }

    /// Records a readiness change of `slot` in `env` as a `deploy.health_check` span.
    fn record_readiness(
        &self,
        env: Environment,
        slot: usize,
        ready: bool,
        reason: &str,
        parent: Option<&OpenSpan>,
    ) {
        let Some(instance) = self.fleet(env).instance(slot) else {
            return;
        };
        let attributes = vec![
            KeyValue::new("deploy.environment", env.as_str()),
            KeyValue::new("deploy.check", "readiness"),
            KeyValue::new("deploy.instance", instance.name.clone()),
            KeyValue::new("deploy.version", instance.version.clone()),
            KeyValue::new("deploy.ready", ready),
            KeyValue::new("deploy.reason", reason.to_owned()),
        ];
        let at = (self.now_ns, self.now_ns);
        self.spans
            .record("deploy.health_check", at, attributes, parent, None);
    }

    /// Takes `slots` out of the router (their readiness goes false), waits for them to drain.
    pub fn drain(&mut self, env: Environment, slots: &[usize], reason: &str, parent: &OpenSpan) {
        for &slot in slots {
            if self.fleet_mut(env).set_ready(slot, false) {
                self.record_readiness(env, slot, false, reason, Some(parent));
            }
        }
        self.wait(DRAIN_NS);
    }

    /// Starts `version` in `slots` (adding instances for slots not yet in the fleet), then
    /// probes them until all are ready or the readiness timeout passes. Returns whether all
    /// became ready.
    pub fn start(
        &mut self,
        env: Environment,
        slots: &[usize],
        version: &str,
        parent: &OpenSpan,
    ) -> bool {
        for &slot in slots {
            if self.fleet(env).instance(slot).is_some() {
                self.fleet_mut(env).set_version(slot, version);
            } else {
                self.fleet_mut(env).add(slot, version);
            }
        }
        self.wait(BOOT_NS);
        let passes = self.catalog.behaviour(version).passes_readiness();
        let mut pending: Vec<usize> = slots.to_vec();
        for attempt in 0..PROBE_ATTEMPTS_MAX {
            if attempt > 0 {
                self.wait(PROBE_INTERVAL_NS);
            }
            for &slot in &pending {
                if passes {
                    self.fleet_mut(env).set_ready(slot, true);
                    self.record_readiness(env, slot, true, "probe_passed", Some(parent));
                } else {
                    self.record_readiness(env, slot, false, "probe_failed", Some(parent));
                }
            }
            pending.retain(|&slot| !self.fleet(env).instance(slot).is_some_and(|i| i.ready));
            if pending.is_empty() {
                return true;
            }
        }
        false
    }

    /// Drains `slots` and removes them from the fleet (a blue or green fleet retired).
    pub fn decommission(&mut self, env: Environment, slots: &[usize], parent: &OpenSpan) {
        self.drain(env, slots, "decommissioned", parent);
        for &slot in slots {
            self.fleet_mut(env).remove(slot);
        }
    }

    /// Watches traffic in `env` (only requests served by `version`, if given) for the
    /// environment's health window, extending a window too thin to judge, then records the
    /// decision as a `deploy.health_check` span (`check` names what was watched).
    pub fn watch(
        &mut self,
        env: Environment,
        version: Option<&str>,
        check: &'static str,
        parent: Option<&OpenSpan>,
    ) -> HealthReport {
        let thresholds = self.table.get(env).health;
        let start_ns = self.now_ns;
        self.window.clear();
        let mut samples = Vec::new();
        for _ in 0..=HEALTH_WINDOW_EXTENSIONS_MAX {
            self.wait(thresholds.window_ms * 1_000_000);
            samples = self
                .window
                .iter()
                .filter(|(e, v, _)| *e == env && version.is_none_or(|want| v == want))
                .map(|(_, _, sample)| *sample)
                .collect();
            if samples.len() >= HEALTH_SAMPLES_MIN {
                break;
            }
        }
        let report = HealthReport::evaluate(&samples, &thresholds);
        let attributes = vec![
            KeyValue::new("deploy.environment", env.as_str()),
            KeyValue::new("deploy.check", check),
            KeyValue::new("deploy.version", version.unwrap_or("any").to_owned()),
            KeyValue::new("deploy.healthy", report.healthy),
            KeyValue::new("health.samples", report.sample_count as i64),
            KeyValue::new("health.error_rate", report.error_rate),
            KeyValue::new("health.latency_ms_p99", report.latency_ms_p99),
            KeyValue::new("deploy.reason", report.reason.clone()),
        ];
        let at = (start_ns, self.now_ns);
        self.spans
            .record("deploy.health_check", at, attributes, parent, None);
        report
    }

    /// Ends the client session at the current time; the capture then holds every span.
    pub fn finish(self) {
        self.clients.close(self.now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::version::Behaviour;

    fn sim(plan: &DeploymentPlan) -> (DeploySim, Arc<Capture>) {
        let capture = Arc::new(Capture::new(9));
        (DeploySim::new(plan, 9, Arc::clone(&capture)), capture)
    }

    // Proves traffic reaches only the active environment, one request per client per second.
    #[test]
    fn traffic_goes_to_the_active_environment() {
        let plan = DeploymentPlan::default();
        let (mut sim, capture) = sim(&plan);
        sim.wait(2 * super::super::traffic::REQUEST_INTERVAL_NS);
        sim.active = Some(Environment::Staging);
        sim.wait(3 * super::super::traffic::REQUEST_INTERVAL_NS);
        sim.finish();
        let spans = capture.spans().unwrap();
        let requests: Vec<_> = spans.iter().filter(|s| s.name == "request").collect();
        assert_eq!(requests.len(), 3 * plan.client_count);
        assert!(requests
            .iter()
            .all(|r| r.attr_text("deploy.environment").as_deref() == Some("staging")));
    }

    // Proves a version that fails readiness is probed until the timeout and never made ready.
    #[test]
    fn failing_readiness_times_out() {
        let mut plan = DeploymentPlan::default();
        plan.catalog.set("v2", Behaviour::FailsReadiness).unwrap();
        let (mut sim, _capture) = sim(&plan);
        let parent = sim.spans.open("deploy.run", 0, Vec::new(), None);
        sim.drain(Environment::Dev, &[0], "draining", &parent);
        assert!(!sim.start(Environment::Dev, &[0], "v2", &parent));
        let timeout = DRAIN_NS + BOOT_NS + u64::from(PROBE_ATTEMPTS_MAX - 1) * PROBE_INTERVAL_NS;
        assert_eq!(sim.now_ns(), timeout);
        assert!(!sim
            .fleet(Environment::Dev)
            .instance(0)
            .is_some_and(|i| i.ready));
        assert!(sim.start(Environment::Dev, &[0], "v1", &parent));
    }
}
