//! `SwarmWorld`: per-scenario state. Each scenario gets its own configuration and its own
//! capture, so scenarios never read each other's evidence.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use cucumber::World;
use swarmspec::claims::metrics::Observed;
use swarmspec::deployment::DeploymentPlan;
use swarmspec::evidence::{Evidence, Verdict};
use swarmspec::swarm::{memory, RunOutcome, Swarm, SwarmConfig};
use swarmspec::telemetry::otlp::{ExportReport, OtlpTarget, Receiver};
use swarmspec::telemetry::{Capture, CaptureLevel};

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
    /// The deploy session the scenario is describing (deployment steps only).
    pub deployment: DeploymentPlan,
    /// Audit log, scan report, access policy and work catalog of the compliance steps.
    pub compliance: super::compliance::ComplianceState,
    /// What reading a span file skipped, when the evidence came from one.
    pub ingest: Option<swarmspec::ingest::IngestReport>,
    /// A swarm split across OS processes on a file store (processes steps only).
    pub split: super::processes::SplitState,
    /// The collector this scenario's spans also go to (else `OTLP_TARGET`'s, if set).
    pub otlp: Option<OtlpTarget>,
    /// The loopback OTLP receiver a scenario started.
    pub receiver: Option<Receiver>,
    /// What became of the last run's exported spans.
    pub export: Option<ExportReport>,
    /// The history of a system driven through its command line (real_systems steps).
    pub adapter: Option<swarmspec::adapter::AdapterRun>,
}

/// A seed that replaces every scenario's own (set by `swarmspec verify --seed`). One verify
/// runs at a time per process, so a process-wide setting is enough.
pub static SEED_OVERRIDE: Mutex<Option<u64>> = Mutex::new(None);

/// The collector every scenario's spans also go to (set by `swarmspec verify --otlp`).
pub static OTLP_TARGET: Mutex<Option<OtlpTarget>> = Mutex::new(None);

fn seed_override() -> Option<u64> {
    *SEED_OVERRIDE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SwarmWorld {
    fn new() -> Self {
        Self {
            config: SwarmConfig::new(100, 100, 42),
            evidence: None,
            outcome: None,
            digests: Vec::new(),
            verdicts: Vec::new(),
            measured: Observed::new(),
            deployment: DeploymentPlan::default(),
            compliance: Default::default(),
            ingest: None,
            split: Default::default(),
            otlp: None,
            receiver: None,
            export: None,
            adapter: None,
        }
    }

    /// Runs the configured swarm into a fresh capture and keeps its evidence.
    pub fn run_swarm(&mut self) -> anyhow::Result<()> {
        // The evidence about to be judged is this run's, not a span file's.
        self.ingest = None;
        if let Some(seed) = seed_override() {
            self.config.seed = seed;
        }
        if self.split.process_count.is_some() {
            let evidence = self.split.run(&self.config)?;
            self.evidence = Some(evidence);
            return Ok(());
        }
        let target = self.otlp.clone().or_else(|| {
            OTLP_TARGET
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        });
        let (export, exports) = match &target {
            Some(target) => {
                let (export, processor) = target.start()?;
                (Some(export), vec![processor])
            }
            None => (None, Vec::new()),
        };
        let capture = Arc::new(Capture::with_exports(
            self.config.seed,
            CaptureLevel::default(),
            exports,
        ));
        let peak_reset = memory::reset_peak();
        let before = memory::read();
        let outcome = Swarm::new(self.config.clone())
            .run(Arc::clone(&capture))
            .with_context(|| format!("swarm run failed (seed {})", self.config.seed))?;
        if let (true, Some(before), Some(after)) = (peak_reset, before, memory::read()) {
            let growth_mb = after.peak_bytes.saturating_sub(before.current_bytes) as f64 / 1e6;
            let per_100_agents = growth_mb * 100.0 / self.config.agent_count as f64;
            self.measured
                .insert("memory.rss_mb_per_100_agents".into(), per_100_agents);
        }
        self.evidence = Some(Evidence::from_capture(&capture)?);
        self.outcome = Some(outcome);
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
            Some(report) => swarmspec::evidence::ingestion::qualified(verdict, report),
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
