//! The claims ledger: what the swarm is claimed to do, and whether this run's evidence
//! VERIFIES it, REFUTES it, or leaves it UNVERIFIED (no evidence: never a pass).

/// What a claim's statement says the run must be, and what each scenario ran.
pub mod conditions;
/// Metrics a ledger defines from span queries (count, rate, ratio, percentile).
pub mod custom;
/// Reading `[[metric]]` tables, mistakes at their line.
mod custom_load;
/// Evaluation of a ledger against the metrics scenarios observed, and regressions.
pub mod evaluate;
/// Loading and validating a ledger file, with file:line errors.
pub mod ledger;
/// The metric catalogue and metrics computed from evidence.
pub mod metrics;

pub use conditions::{Condition, RecordValue, RunRecord};
pub use custom::CustomMetric;
pub use evaluate::{
    evaluate, format_value, mark_regressions, ClaimResult, ClaimStatus, ScenarioMetrics,
};
pub use ledger::{Claim, ClaimMetric, Comparator, Ledger};
