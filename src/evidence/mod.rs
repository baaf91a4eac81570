//! Evidence checks: pure functions of captured spans and histograms.
//!
//! Nothing here asks the engine anything. Each check returns a `Verdict` that carries what
//! was expected, what was observed, and the evidence (offending span ids, items, agents), so
//! a report can print it as is and a failure explains itself.

/// Attribute presence, numeric bounds, outcome rates (overall, per group), breaker openings.
pub mod attributes;
/// Retry gaps measured from span timestamps against the retry policy.
pub mod backoff;
/// Circuit-breaker transitions and silence while open.
pub mod breaker;
/// Deploy checks about what clients saw: failed requests, unready traffic, rollbacks.
pub mod deployment;
/// Order-sensitive digests of a run's spans, for determinism checks.
pub mod digest;
/// Every completion a system acknowledged is still in the state it ends in.
pub mod durability;
/// Checks of an OTLP export: the collector got every captured span, or the loss was reported.
pub mod export;
/// Holds reconstructed from claim/complete/release/reap spans: overlaps, reclaims, stages.
pub mod history;
/// Identifier uniqueness and creation order.
pub mod identity;
/// Checks about a span file read from disk: skipped fragments and their lines.
pub mod ingestion;
/// Latency percentiles and throughput from the histograms.
pub mod latency;
/// The vocabulary a spec writer writes against: spans, attributes, types, value sets.
pub mod lexicon;
/// Load spread across teams.
pub mod load;
/// Ownership from spans: every acknowledged write came from the item's holder at the time.
pub mod ownership;
/// Generic span queries: counts, per-key counts, parents, traces.
pub mod query;
/// Invariants under faults: no lost completions, every item resolved, bounded runs.
pub mod resilience;
/// Give-ups, retry limits, waits after lost claims, same-instant crowds.
pub mod retries;
/// Deploy checks about the rollout: canary limits, durations, promotion, concurrency.
pub mod rollout;
/// Edit distance for "did you mean" suggestions.
pub mod spelling;
/// One winning claim per item and stage, again only after a reap or release.
pub mod tenure;
/// One trace per work item across the roles it passed.
pub mod traces;
/// The verdict type.
pub mod verdict;
/// The names swarmspec emits, and the guard against steps naming what no span carries.
pub mod vocabulary;

pub use query::{Comparison, SpanFilter};
pub use verdict::Verdict;

use crate::error::Result;
use crate::telemetry::{Capture, LatencyBook, SpanRecord};

/// A snapshot of one capture: what every check reads.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Finished spans, in export order.
    pub spans: Vec<SpanRecord>,
    /// Latency histograms per operation kind.
    pub latencies: LatencyBook,
}

impl Evidence {
    /// Takes a snapshot of `capture`.
    pub fn from_capture(capture: &Capture) -> Result<Self> {
        Ok(Self {
            spans: capture.spans()?,
            latencies: capture.latencies(),
        })
    }

    /// Spans named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SpanRecord> + 'a {
        self.spans.iter().filter(move |span| span.name == name)
    }
}

/// How many offending items a verdict lists before it only counts them.
pub const EVIDENCE_LINES_MAX: usize = 10;

/// Keeps the first `EVIDENCE_LINES_MAX` lines and notes how many more there were.
pub(crate) fn bounded(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > EVIDENCE_LINES_MAX {
        let more = lines.len() - EVIDENCE_LINES_MAX;
        lines.truncate(EVIDENCE_LINES_MAX);
        lines.push(format!("… and {more} more"));
    }
    lines
}
