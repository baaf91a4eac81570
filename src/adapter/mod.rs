//! The external-command adapter: drives another coordinator through its command line and
//! judges it Jepsen-style, from the history of what it acknowledged and the state it ends in.
//!
//! This is not a `Coordinator`: that trait speaks swarmspec's own typed ids, leases, peeks
//! and handoffs, and expects calls in microseconds, while an external system is a process per
//! call with its own ids and only the operations its command line offers. So the adapter has
//! its own small agent loop (`runner`) and judges from its own records (`history`), and the
//! swarm's span checks still apply because every call is also a span in the `Capture`.

/// The agents' loops: over submitted items, or making items by claiming.
mod agents;
/// When the state broke (from samples) and which work was abandoned.
pub mod breakage;
/// One call: template expansion, a process with a deadline, the outcome from exit code and
/// stdout.
pub mod call;
/// The TOML config: commands, placeholders, outcome rules, the final state's source.
pub mod config;
/// The history checker: acknowledged operations against the final state.
pub mod history;
/// The config's raw TOML shapes and their validation, each problem at its line.
mod loader;
/// One operation's calls under a slot, retried while busy, each an operation and a span.
mod perform;
/// Retry, faults and state reading: the config beyond the commands.
mod policies;
/// One process in its own process group, waited on with a deadline; a timeout kills the group.
mod process;
/// Set-up, the agents and the sampler, then the final state: one run.
pub mod runner;
/// Reading the state during the run.
pub mod sampler;
/// Placeholders a shell-string template writes inside quotes, refused at load.
mod shell_quotes;
/// Reading the final state (a command's stdout or a file) in the `work_claims.json` layout.
pub mod state;

pub use call::Outcome;
pub use config::AdapterConfig;
pub use runner::{run, scratch_dir, RunPlan};
pub use sampler::StateSample;
pub use state::FinalState;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::telemetry::OpKind;

/// One call, as the history checker sees it: who asked for what, when, and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// Position in invocation order (0-based), for naming it in evidence.
    pub index: usize,
    /// `Register`, `Submit`, `Claim`, `Progress` or `Complete`.
    pub kind: OpKind,
    /// The agent that made it (for a register: the id it was given, or proposed).
    pub agent: Option<String>,
    /// The item it was about (for a submit: the id it was given, or proposed).
    pub item: Option<String>,
    /// The progress reported, for a progress call.
    pub progress: Option<u8>,
    /// Which attempt at the operation this call was (1 unless the system answered busy).
    pub attempt: u32,
    /// When the process was started, ns since the run began.
    pub invoke_ns: u64,
    /// When its outcome was known, ns since the run began.
    pub complete_ns: u64,
    /// What the rules made of it.
    pub outcome: Outcome,
    /// Its exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The start of its stdout.
    pub stdout_excerpt: String,
    /// Why it failed or timed out (exit code and stderr, or the spawn error).
    pub problem: Option<String>,
}

impl Operation {
    /// Whether the system acknowledged it.
    pub fn acknowledged(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.kind.span_name().trim_start_matches("work.");
        write!(f, "op #{} {name}", self.index)?;
        if let Some(item) = &self.item {
            write!(f, " {item}")?;
        }
        if let Some(progress) = self.progress {
            write!(f, " {progress}%")?;
        }
        if self.attempt > 1 {
            write!(f, " (attempt {})", self.attempt)?;
        }
        if let Some(agent) = &self.agent {
            write!(f, " by {agent}")?;
        }
        write!(
            f,
            " → {} [{:.1}–{:.1} ms]",
            self.outcome.as_str(),
            self.invoke_ns as f64 / 1e6,
            self.complete_ns as f64 / 1e6
        )?;
        if !self.stdout_excerpt.is_empty() {
            write!(f, " «{}»", self.stdout_excerpt)?;
        }
        if let Some(problem) = &self.problem {
            write!(f, " ({problem})")?;
        }
        Ok(())
    }
}

/// Everything one adapter run left for the checker.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterRun {
    /// The config that drove it.
    pub config_path: PathBuf,
    /// The scratch directory the commands were given as `{run_dir}`.
    pub run_dir: PathBuf,
    /// Agent ids, in registration order.
    pub agents: Vec<String>,
    /// Item ids, in submission order (when claims create items: the ids acknowledged claims
    /// named, in claim order).
    pub items: Vec<String>,
    /// Pieces of work the run set out to get done: the items submitted, or, when claims
    /// create items, the claims the agents were to make.
    pub pieces: usize,
    /// Whether claims created the items.
    pub claims_create_items: bool,
    /// Every call, in invocation order.
    pub operations: Vec<Operation>,
    /// The state the system ended in.
    pub state: FinalState,
    /// The state as read during the run (`[state] sample_ms`), in order.
    pub samples: Vec<StateSample>,
    /// Things about the run a reader should know that are not findings about the system
    /// (e.g. every call exited 0, so only stdout rules decided outcomes).
    pub warnings: Vec<String>,
    /// Calls in flight at once, at most.
    pub concurrency: usize,
    /// From the first agent call to the last, ns.
    pub agents_duration_ns: u64,
}

impl AdapterRun {
    fn per_s(&self, count: usize) -> f64 {
        count as f64 / (self.agents_duration_ns.max(1) as f64 / 1e9)
    }

    /// Agent calls (claim, progress, complete), whatever came back, per second of the
    /// agents' phase.
    pub fn agent_ops_per_s(&self) -> f64 {
        self.per_s(self.agent_calls().count())
    }

    /// Agent calls the system acknowledged, per second: refusals and failures are not work.
    pub fn acknowledged_ops_per_s(&self) -> f64 {
        self.per_s(self.agent_calls().filter(|op| op.acknowledged()).count())
    }

    /// Items whose completion was acknowledged, per second.
    pub fn items_finished_per_s(&self) -> f64 {
        let finished = self
            .operations
            .iter()
            .filter(|op| op.kind == OpKind::Complete && op.acknowledged())
            .count();
        self.per_s(finished)
    }

    fn agent_calls(&self) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .filter(|op| matches!(op.kind, OpKind::Claim | OpKind::Progress | OpKind::Complete))
    }

    /// How many calls of `kind` ended in `outcome`.
    pub fn count(&self, kind: OpKind, outcome: Outcome) -> usize {
        self.operations
            .iter()
            .filter(|op| op.kind == kind && op.outcome == outcome)
            .count()
    }
}
