//! `SwarmWorld`: per-scenario state. Each scenario gets its own configuration and its own
//! capture, so scenarios never read each other's evidence.

use std::sync::{Arc, Mutex};

use crate::claims::metrics::{Observed, Unmeasured};
use crate::claims::RunRecord;
use crate::coordination::{Discipline, Mutant};
use crate::deployment::DeploymentPlan;
use crate::evidence::durability::FinalState;
use crate::evidence::{Evidence, Verdict};
use crate::swarm::{RunOutcome, Swarm, SwarmConfig};
use crate::systems::SystemSpec;
use crate::telemetry::otlp::{ExportReport, OtlpTarget, Receiver, RunAttributes};
use crate::telemetry::{Capture, CaptureLevel};
use anyhow::Context as _;
use cucumber::World;

/// The scenario's swarm, its evidence and its verdicts.
#[derive(Debug, World)]
#[world(init = Self::new)]
pub struct SwarmWorld {
    /// The swarm the scenario is describing.
    pub config: SwarmConfig,
    /// Evidence of the last run, if one ran.
    pub evidence: Option<Evidence>,
    /// What the last run said about itself (for messages only).
    pub outcome: Option<RunOutcome>,
    /// Span digests of the runs made by a determinism step.
    pub digests: Vec<String>,
    /// Every verdict this scenario reached, in order.
    pub verdicts: Vec<Verdict>,
    /// Metrics measured outside the spans (memory), merged into the scenario's metrics.
    pub measured: Observed,
    /// Metrics a step tried to measure outside the spans and could not, with why.
    pub unmeasured: Unmeasured,
    /// What the scenario ran, for the claims' conditions (set by each run).
    pub run_record: RunRecord,
    /// Memory growth per 100 agents (MB) and spans retained, from a child-process run.
    pub memory_probe: Option<(f64, u64)>,
    /// The deploy session the scenario is describing (deployment steps only).
    pub deployment: DeploymentPlan,
    /// Audit log, scan report, access policy and work catalog of the compliance steps.
    pub compliance: super::compliance::ComplianceState,
    /// What reading a span file skipped, when the evidence came from one.
    pub ingest: Option<crate::ingest::IngestReport>,
    /// A swarm split across OS processes on a file store (processes steps only).
    pub split: super::processes::SplitState,
    /// The collector this scenario's spans also go to (else `OTLP_TARGET`'s, if set).
    pub otlp: Option<OtlpTarget>,
    /// The loopback OTLP receiver a scenario started.
    pub receiver: Option<Receiver>,
    /// What became of the last run's exported spans.
    pub export: Option<ExportReport>,
    /// The history of a system driven through its command line (real_systems steps).
    pub adapter: Option<crate::adapter::AdapterRun>,
    /// Faults a scenario adds to the command system it drives next (real_systems steps).
    pub command_faults: crate::adapter::config::CommandFaults,
    /// The system this scenario names (`Given the system under test is "SPEC"`).
    pub system: Option<crate::systems::SystemSpec>,
    /// The system the last run drove, as its spec reads.
    pub system_label: String,
    /// Faults done to a child-process system during the run.
    pub process_faults: Vec<super::systems::ProcessFault>,
    /// The PostgreSQL server's faults and counts (database steps only).
    pub database: super::database::DatabaseState,
    /// Why the scenario cannot run against its system, when it cannot.
    pub not_applicable: Option<String>,
    /// The last lines a child-process system wrote to stderr, for the report.
    pub system_log: Vec<String>,
    /// Each submitted item as the system showed it after the run (systems opened by a
    /// spec only: the memory engine lives and dies inside the run).
    pub final_state: Option<std::collections::BTreeMap<String, FinalState>>,
}

/// A seed that replaces every scenario's own (set by `swarmspec verify --seed`). One verify
/// runs at a time per process, so a process-wide setting is enough.
pub static SEED_OVERRIDE: Mutex<Option<u64>> = Mutex::new(None);

/// The collector every scenario's spans also go to (set by `swarmspec verify --otlp`).
pub static OTLP_TARGET: Mutex<Option<OtlpTarget>> = Mutex::new(None);

/// The live view of the verify run (`swarmspec verify --serve`): each scenario's swarm is
/// shown on it while it runs. Scenarios run one at a time, so one slot is enough.
pub static LIVE_SUITE: Mutex<Option<Arc<crate::live::SuiteBoard>>> = Mutex::new(None);

/// The planted engine defect every swarm on the memory engine runs with (set by
/// `swarmspec verify --mutants`, one mutant per suite run); when unset, `SWARMSPEC_MUTANT`
/// decides, so `SWARMSPEC_MUTANT=racy-claim cargo test --test features` runs the suite
/// against that mutant.
pub static MUTANT_OVERRIDE: Mutex<Option<Mutant>> = Mutex::new(None);

/// The mutant this process's swarms run with, if any.
fn mutant_override() -> anyhow::Result<Option<Mutant>> {
    let set = *MUTANT_OVERRIDE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match set {
        Some(mutant) => Ok(Some(mutant)),
        None => Ok(Mutant::from_env()?),
    }
}

/// Shows `swarm` on the verify run's live view, if one is served: its agents' states and
/// the capture's operation rates and latencies, as `run --serve` shows a run.
fn watch_live(
    swarm: Swarm,
    config: &crate::swarm::SwarmConfig,
    capture: &Arc<Capture>,
) -> (Swarm, Option<Arc<crate::live::LiveRun>>) {
    let board = LIVE_SUITE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let Some(board) = board else {
        return (swarm, None);
    };
    let view = Arc::new(crate::live::LiveRun::of_swarm(
        config,
        swarm.finished_counter(),
    ));
    let swarm = swarm.watched_by(Arc::clone(&view.agents));
    view.watch(Arc::clone(capture));
    board.watch_swarm(Arc::clone(&view));
    (swarm, Some(view))
}

fn seed_override() -> Option<u64> {
    *SEED_OVERRIDE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A scenario's swarm stops at this deadline (simulated or real) unless it sets its own.
/// Every shipped run ends within a few seconds; a broken engine that never lets the work
/// finish (`verify --mutants`) then costs two minutes of simulated idling, not an hour.
const SCENARIO_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

impl SwarmWorld {
    fn new() -> Self {
        Self {
            config: SwarmConfig {
                deadline: SCENARIO_DEADLINE,
                ..SwarmConfig::new(100, 100, 42)
            },
            evidence: None,
            outcome: None,
            digests: Vec::new(),
            verdicts: Vec::new(),
            measured: Observed::new(),
            unmeasured: Unmeasured::new(),
            run_record: RunRecord::new(),
            memory_probe: None,
            deployment: DeploymentPlan::default(),
            compliance: Default::default(),
            ingest: None,
            split: Default::default(),
            otlp: None,
            receiver: None,
            export: None,
            adapter: None,
            command_faults: Default::default(),
            system: None,
            system_label: "memory".into(),
            process_faults: Vec::new(),
            database: Default::default(),
            not_applicable: None,
            system_log: Vec::new(),
            final_state: None,
        }
    }

    /// Runs the configured swarm into a fresh capture and keeps its evidence.
    pub fn run_swarm(&mut self) -> anyhow::Result<()> {
        // The evidence about to be judged is this run's, not a span file's.
        self.ingest = None;
        self.final_state = None;
        if let Some(seed) = seed_override() {
            self.config.seed = seed;
        }
        let system = super::systems::under_test(self)?;
        self.system_label = system.label();
        self.database.report = None;
        // A scenario on a named PostgreSQL server gets an observer of its own, which finds
        // the run's backends by the application name given here.
        let named = self
            .database
            .planned
            .then(|| super::database::named_for_run(&system))
            .flatten();
        let (system, application) = match named {
            Some((named, application)) => (named, Some(application)),
            None => (system, None),
        };
        // A scenario that broke the engine on purpose keeps its own defect: it checks that
        // one defect is caught, and would fail (a false kill) under any other. Planted
        // defects live in the memory engine only.
        if self.config.discipline == Discipline::Correct && system == SystemSpec::Memory {
            if let Some(mutant) = mutant_override()? {
                self.config.discipline = Discipline::Mutant(mutant);
            }
        }
        if let Some(processes) = self.split.process_count {
            let evidence = self.split.run(&self.config)?;
            self.evidence = Some(evidence);
            self.run_record = super::record::swarm(&self.config, processes, "file");
            self.system_label = "file (split across processes)".into();
            return Ok(());
        }
        let mut prepared = if system == SystemSpec::Memory && self.process_faults.is_empty() {
            None
        } else {
            match super::systems::prepare(&system, &self.config, &self.process_faults)? {
                Ok(prepared) => Some(prepared),
                Err(why) => {
                    self.not_applicable = Some(why.clone());
                    anyhow::bail!("not applicable: {why}");
                }
            }
        };
        let target = self.otlp.clone().or_else(|| {
            OTLP_TARGET
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        });
        let (export, exports) = match &target {
            Some(target) => {
                let run = RunAttributes::new(self.config.seed, system.kind());
                let (export, processor) = target.start(Some(&run))?;
                (Some(export), vec![processor])
            }
            None => (None, Vec::new()),
        };
        let capture = Arc::new(Capture::with_exports(
            self.config.seed,
            CaptureLevel::default(),
            exports,
        ));
        let mut swarm = Swarm::new(self.config.clone());
        let mut driver = None;
        if let Some(prepared) = &prepared {
            swarm = swarm
                .with_coordinator(Arc::clone(&prepared.factory))
                .with_capabilities(prepared.capabilities);
            if let Some(child) = prepared.process.as_ref() {
                if !self.process_faults.is_empty() {
                    driver = Some(super::systems::FaultDriver::start(
                        Arc::clone(child),
                        self.process_faults.clone(),
                        swarm.finished_counter(),
                        self.config.item_count,
                    ));
                }
            }
        }
        let database = match (&application, &system) {
            (Some(application), SystemSpec::Postgres(url)) => {
                Some(super::database_driver::DatabaseDriver::start(
                    url,
                    application,
                    self.database.faults.clone(),
                    swarm.finished_counter(),
                    self.config.item_count,
                )?)
            }
            _ => None,
        };
        let (swarm, watched) = watch_live(swarm, &self.config, &capture);
        let outcome = swarm.run(Arc::clone(&capture));
        // The swarm holds the system's factory, and with it the opened coordinator.
        drop(swarm);
        if let Some(view) = watched {
            view.end();
        }
        let fault_problems = driver.map(super::systems::FaultDriver::finish);
        let outcome = outcome
            // Cucumber shows a step's error by its Display, which drops the causes: the
            // chain goes into the message itself, so the report says why the run failed.
            .map_err(|error| {
                let seed = self.config.seed;
                anyhow::anyhow!(
                    "swarm run failed (seed {seed}): {:#}",
                    anyhow::Error::from(error)
                )
            })?;
        self.run_record = super::record::swarm(&self.config, 1, &system.kind());
        super::record::add_process_faults(&mut self.run_record, &self.process_faults);
        super::record::add_database_faults(&mut self.run_record, &self.database.faults);
        self.evidence = Some(Evidence::from_capture(&capture)?);
        self.outcome = Some(outcome);
        self.final_state = prepared
            .as_ref()
            .map(|prepared| super::systems::read_back(prepared, self.evidence.as_ref()));
        if let Some(driver) = database {
            // Closing the coordinator first: its backends report their counts as they exit.
            drop(prepared.take());
            let (report, problems) = driver.finish();
            self.database.report = Some(report);
            anyhow::ensure!(
                problems.is_empty(),
                "the database faults went wrong (seed {}); the run is kept as evidence:\n  {}",
                self.config.seed,
                problems.join("\n  ")
            );
        }
        if let Some(child) = prepared.as_ref().and_then(|p| p.process.as_ref()) {
            let (mut problems, stderr) = child.faults();
            problems.extend(fault_problems.unwrap_or_default());
            self.system_log = stderr;
            // Dropping the prepared system closes the child before the scenario is judged.
            drop(prepared);
            if !problems.is_empty() {
                anyhow::bail!(
                    "the system under test {} misbehaved at its boundary (seed {}); the run \
                     recorded so far is kept as evidence:\n  {}{}",
                    self.system_label,
                    self.config.seed,
                    problems.join("\n  "),
                    stderr_tail(&self.system_log)
                );
            }
        }
        // A lost export is the collector's loss, not the scenario's: warn, keep the verdicts
        // (unless the scenario chose the collector, when its own steps judge the export).
        self.export = export.map(|export| export.finish(&capture));
        let warn = self.otlp.is_none();
        if let Some(report) = self.export.as_ref().filter(|r| warn && !r.is_complete()) {
            eprintln!("warning (seed {}): {report}", self.config.seed);
        }
        Ok(())
    }

    /// The last run's evidence, or an error saying no run happened.
    pub fn evidence(&self) -> anyhow::Result<&Evidence> {
        self.evidence
            .as_ref()
            .context("no swarm has run in this scenario: add a `When the swarm runs` step")
    }

    /// Keeps a verdict for the evidence ledger; a failed one fails the step, naming the
    /// seed to replay. (Printing happens once the scenario ends, so lines stay in order.)
    /// When the evidence came from a span file, the verdict first learns what the reader
    /// refused (`evidence::ingestion::qualified`): nothing passes on spans that were dropped.
    pub fn judge(&mut self, verdict: Verdict) -> anyhow::Result<()> {
        let verdict = match &self.ingest {
            Some(report) => crate::evidence::ingestion::qualified(verdict, report),
            None => verdict,
        };
        self.judge_as_is(verdict)
    }

    /// `judge` for verdicts about the span file itself, which already count what it skipped.
    pub fn judge_as_is(&mut self, verdict: Verdict) -> anyhow::Result<()> {
        let passed = verdict.passed;
        let text = verdict.to_string();
        self.verdicts.push(verdict);
        if passed {
            Ok(())
        } else {
            anyhow::bail!("{text}\n    replay: seed {}", self.config.seed)
        }
    }
}

/// The child's last stderr lines, indented under an error, or nothing.
fn stderr_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!("\n  its stderr ended with:\n    {}", lines.join("\n    "))
}
