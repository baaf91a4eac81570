//! The report model: everything a verify run found, serialisable as one JSON document.

use serde::{Deserialize, Serialize};

use crate::claims::metrics::{Observed, Unmeasured};
use crate::claims::RunRecord;
use crate::claims::{ClaimResult, ClaimStatus};
use crate::evidence::Verdict;

/// Where and how the run happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// Unique id of the run (also its report directory name).
    pub run_id: String,
    /// Start, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// Seed that replaced every scenario's own, if one was given.
    pub seed_override: Option<u64>,
    /// Tag expression that filtered scenarios, if any.
    pub tags: Option<String>,
    /// The ledger used.
    pub ledger: String,
    /// The features directory used.
    pub features: String,
    /// The machine.
    pub machine: Machine,
}

/// The machine a run measured on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// Logical cores available.
    pub cores: usize,
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
}

impl Machine {
    /// This machine.
    pub fn current() -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
        }
    }
}

/// A scenario's result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ScenarioStatus {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed,
    /// A step was skipped (undefined), which also fails the run.
    Skipped,
    /// Every step passed but none was a `Then`: it proved nothing, counts toward no claim,
    /// and fails `verify --strict`.
    NoAssertion,
    /// It needs something the system under test does not offer (a call, virtual time, a
    /// planted defect): nothing ran, it counts toward no claim, and it is listed with why.
    NotApplicable,
}

impl ScenarioStatus {
    /// How claims treat a scenario that ended this way.
    pub fn standing(self) -> crate::claims::evaluate::Standing {
        use crate::claims::evaluate::Standing;
        match self {
            ScenarioStatus::Passed => Standing::Passed,
            ScenarioStatus::Failed | ScenarioStatus::Skipped => Standing::Failed,
            ScenarioStatus::NoAssertion => Standing::NoAssertion,
            ScenarioStatus::NotApplicable => Standing::NotApplicable,
        }
    }

    /// Words for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioStatus::Passed => "passed",
            ScenarioStatus::Failed => "failed",
            ScenarioStatus::Skipped => "skipped",
            ScenarioStatus::NoAssertion => "no assertion",
            ScenarioStatus::NotApplicable => "not applicable",
        }
    }
}

/// One span on the timeline chart.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimelineSpan {
    /// Span name.
    pub name: String,
    /// Who (agent id or component).
    pub lane: String,
    /// Start, ms since the scenario's first span.
    pub start_ms: f64,
    /// Duration, ms.
    pub duration_ms: f64,
    /// Error status.
    pub error: bool,
    /// The work item it concerns, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Its `work.outcome` or `request.outcome` (claimed, conflict, error…), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// Latency figures of one operation kind (serialisable copy of a histogram summary).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OperationLatency {
    /// Span name.
    pub op: String,
    /// Samples.
    pub count: u64,
    /// Mean, ms.
    pub mean_ms: f64,
    /// p50, ms.
    pub p50_ms: f64,
    /// p95, ms.
    pub p95_ms: f64,
    /// p99, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
}

/// One earlier run of a scenario that cucumber retried (`@retry(N)`): the scenario is
/// reported once, with the attempts before its last one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    /// How that attempt ended.
    pub status: ScenarioStatus,
    /// Its failing step's message, if any.
    pub failure: Option<String>,
    /// Its wall-clock duration, ms.
    pub duration_ms: f64,
}

/// Everything one scenario produced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioResult {
    /// Feature name.
    pub feature: String,
    /// Scenario name.
    pub name: String,
    /// Where it is written: the feature file, relative to the features directory, and the
    /// scenario's line (`coordination.feature:12`).
    #[serde(default)]
    pub location: String,
    /// The `Rule:` it sits under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Tags without `@`.
    pub tags: Vec<String>,
    /// Outcome (of the last attempt, when it was retried).
    pub status: ScenarioStatus,
    /// The failing step's message, if any.
    pub failure: Option<String>,
    /// Wall-clock time the scenario took, ms (its last attempt).
    #[serde(default)]
    pub duration_ms: f64,
    /// Earlier attempts, when `@retry(N)` ran it more than once; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The command that runs exactly this scenario again, with its seed.
    #[serde(default)]
    pub replay: String,
    /// Seed the scenario ran with.
    pub seed: u64,
    /// Swarm mode, if a swarm ran.
    pub mode: Option<String>,
    /// Verdicts in step order.
    pub verdicts: Vec<Verdict>,
    /// Metrics computed from the scenario's evidence.
    pub metrics: Observed,
    /// Metrics the evidence touched without meeting their minimum evidence, with why.
    #[serde(default)]
    pub unmeasured: Unmeasured,
    /// What the scenario ran (agents, clock, processes, system…), for claims' conditions.
    #[serde(default)]
    pub record: RunRecord,
    /// Latency per operation kind (real-clock runs measure, simulated runs model).
    pub latencies: Vec<OperationLatency>,
    /// Claims per second over the run, in equal time bins (real-clock runs only).
    pub throughput_series: Vec<(f64, f64)>,
    /// Spans to draw, for scenarios tagged `@timeline`.
    pub timeline: Vec<TimelineSpan>,
    /// The system under test, as its spec reads (`memory`, `process:…`).
    #[serde(default)]
    pub system: String,
    /// The last lines a child-process system wrote to stderr.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_log: Vec<String>,
}

impl ScenarioResult {
    /// A result with `status` and nothing measured yet.
    pub fn new(feature: &str, name: &str, status: ScenarioStatus) -> Self {
        Self {
            feature: feature.to_owned(),
            name: name.to_owned(),
            location: String::new(),
            rule: None,
            tags: Vec::new(),
            status,
            failure: None,
            duration_ms: 0.0,
            attempts: Vec::new(),
            replay: String::new(),
            seed: 0,
            mode: None,
            verdicts: Vec::new(),
            metrics: Observed::new(),
            unmeasured: Unmeasured::new(),
            record: RunRecord::new(),
            latencies: Vec::new(),
            throughput_series: Vec::new(),
            timeline: Vec::new(),
            system: String::new(),
            system_log: Vec::new(),
        }
    }

    /// Sets `replay` to the `swarmspec verify` command that runs this scenario alone with
    /// its seed; `features` and `system` are added when the run did not use the defaults.
    pub fn set_replay(&mut self, features: Option<&str>, system: Option<&str>) {
        let mut command = format!("swarmspec verify --seed {}", self.seed);
        if let Some(features) = features {
            command.push_str(&format!(" --features {}", shell_word(features)));
        }
        if let Some(system) = system {
            command.push_str(&format!(" --system {}", shell_word(system)));
        }
        command.push_str(&format!(" --name {}", shell_word(&self.name)));
        self.replay = command;
    }

    /// What claims read of this scenario: its figures, what it ran, and how it ended.
    pub fn for_claims(&self) -> crate::claims::ScenarioMetrics {
        crate::claims::ScenarioMetrics {
            name: format!("{} › {}", self.feature, self.name),
            tags: self.tags.clone(),
            observed: self.metrics.clone(),
            unmeasured: self.unmeasured.clone(),
            record: self.record.clone(),
            standing: self.status.standing(),
        }
    }
}

/// `text` as one word for a POSIX shell: bare when it is plainly safe, else single-quoted
/// (a quote inside becomes `'\''`).
pub fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// Scenarios run.
    pub scenarios: usize,
    /// Passed.
    pub scenarios_passed: usize,
    /// Failed or skipped.
    pub scenarios_failed: usize,
    /// Ran without asserting anything (no `Then`).
    #[serde(default)]
    pub scenarios_no_assertion: usize,
    /// Not applicable to the system under test.
    #[serde(default)]
    pub scenarios_not_applicable: usize,
    /// Claims VERIFIED.
    pub claims_verified: usize,
    /// Claims REFUTED.
    pub claims_refuted: usize,
    /// Of those, claims the ledger marks as a known shortfall (they do not fail the run).
    #[serde(default)]
    pub claims_refuted_known: usize,
    /// Claims UNVERIFIED.
    pub claims_unverified: usize,
    /// Claims in REGRESSION.
    pub claims_regressed: usize,
}

impl Summary {
    /// Counts from scenarios and claims.
    pub fn of(scenarios: &[ScenarioResult], claims: &[ClaimResult]) -> Self {
        let count = |status| claims.iter().filter(|c| c.status == status).count();
        let with = |status| scenarios.iter().filter(|s| s.status == status).count();
        let passed = with(ScenarioStatus::Passed);
        let no_assertion = with(ScenarioStatus::NoAssertion);
        let not_applicable = with(ScenarioStatus::NotApplicable);
        Self {
            scenarios: scenarios.len(),
            scenarios_passed: passed,
            scenarios_failed: scenarios.len() - passed - no_assertion - not_applicable,
            scenarios_no_assertion: no_assertion,
            scenarios_not_applicable: not_applicable,
            claims_verified: count(ClaimStatus::Verified),
            claims_refuted: count(ClaimStatus::Refuted),
            claims_refuted_known: claims
                .iter()
                .filter(|c| c.status == ClaimStatus::Refuted && c.known_shortfall.is_some())
                .count(),
            claims_unverified: count(ClaimStatus::Unverified),
            claims_regressed: count(ClaimStatus::Regression),
        }
    }
}

/// The complete report of one verify run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// Run information.
    pub run: RunInfo,
    /// Counts.
    pub summary: Summary,
    /// Claims, in ledger order.
    pub claims: Vec<ClaimResult>,
    /// Scenarios, in run order.
    pub scenarios: Vec<ScenarioResult>,
    /// The kill matrix, when the run also ran the suite against the planted engine defects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutants: Option<crate::mutants::KillMatrix>,
    /// Problems found in the feature files before the run (unknown steps, syntax), as
    /// `file:line: message`: every report shows them, not only the terminal.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Whether the run passes: no scenario failed, no claim refuted (but for known
    /// shortfalls the ledger states) or regressed, no mutant survived, and (when `strict`)
    /// no claim unverified and no scenario without an assertion.
    pub fn passed(&self, strict: bool) -> bool {
        let s = &self.summary;
        s.scenarios > 0
            && s.scenarios_passed > 0
            && s.scenarios_failed == 0
            && !self.claims.iter().any(|c| c.fails_run())
            && self
                .mutants
                .as_ref()
                .is_none_or(|m| m.survivors().is_empty())
            && (!strict || (s.claims_unverified == 0 && s.scenarios_no_assertion == 0))
    }
}
