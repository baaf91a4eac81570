//! The live invariant panel: the verdicts' own evidence checks (double holds, writes from
//! non-holders, lost completions) run on the spans captured so far, whole or (for a compact
//! capture, `incremental`) item by item as new spans arrive. Nothing is re-implemented here,
//! so the panel turns red on exactly the evidence a verdict would name. A look costs time
//! proportional to the spans it reads, so `Cadence` spaces looks out to keep the checking
//! thread's share of the machine small however fast the run.

use std::time::Duration;

use serde::Serialize;

use crate::evidence::{history, ownership, resilience};
use crate::telemetry::SpanRecord;

/// Offending evidence lines kept per check (the page shows the first few).
pub(crate) const EVIDENCE_SHOWN: usize = 5;

/// One check's state on the panel.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckState {
    /// What it checks, in words.
    pub name: &'static str,
    /// Offences found so far (0 is green).
    pub offences: usize,
    /// The first offences, as the verdict words them.
    pub evidence: Vec<String>,
}

/// The panel: every check on one snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct InvariantPanel {
    /// Spans the snapshot held.
    pub spans_checked: usize,
    /// Snapshots checked so far.
    pub snapshots: u64,
    /// The checks, in a fixed order.
    pub checks: Vec<CheckState>,
    /// Spans with an error status so far (failed calls: injected outages, partitions and
    /// error rates show up here).
    pub error_spans: usize,
    /// `agent.crash` spans so far.
    pub crashes: usize,
    /// Spans a `lease.reap` recorded so far.
    pub reaps: usize,
    /// When crashes, failed calls and reaps happened.
    pub timeline: super::marks::FaultTimeline,
    /// Set when the snapshot could not be read.
    pub problem: Option<String>,
}

impl InvariantPanel {
    /// Whether any check has fired.
    pub fn red(&self) -> bool {
        self.checks.iter().any(|check| check.offences > 0)
    }
}

/// The item checks, in the panel's order.
pub(crate) const CHECK_NAMES: [&str; 3] = ["double holds", "non-holder writes", "lost completions"];

/// Each item check's offences in `spans`, every one, as the verdicts word them, in
/// `CHECK_NAMES` order (a verdict lists only the first few, and the panel counts them all).
/// All three judge each item from that item's own spans alone, which is what lets the live
/// checker run them on the spans of the items new spans touched instead of on every span.
pub(crate) fn item_offences(spans: &[SpanRecord]) -> [Vec<String>; 3] {
    let holds = history::holds(spans);
    [
        history::overlapping_holds(&holds),
        ownership::offending_writes(spans).offences,
        resilience::reopened_completions(spans).0,
    ]
}

/// A check's row from its offences.
pub(crate) fn check_state(
    name: &'static str,
    offences: usize,
    evidence: Vec<String>,
) -> CheckState {
    CheckState {
        name,
        offences,
        evidence: evidence.into_iter().take(EVIDENCE_SHOWN).collect(),
    }
}

/// Runs the checks over `spans` (the capture so far).
pub fn check(spans: &[SpanRecord], snapshots: u64) -> InvariantPanel {
    let checks = CHECK_NAMES
        .iter()
        .zip(item_offences(spans))
        .map(|(&name, offences)| check_state(name, offences.len(), offences))
        .collect();
    InvariantPanel {
        spans_checked: spans.len(),
        snapshots,
        checks,
        error_spans: spans.iter().filter(|s| s.is_error()).count(),
        crashes: spans.iter().filter(|s| s.name == "agent.crash").count(),
        reaps: spans.iter().filter(|s| s.name == "lease.reap").count(),
        timeline: super::marks::from_spans(spans),
        problem: None,
    }
}

/// When the next snapshot may be taken: at least `MIN_GAP` after the last, and at least
/// `COST_FACTOR` times as long as the *next* check is expected to take, so checking uses at
/// most about one part in `COST_FACTOR` of one core. The next check's cost is predicted
/// from the spans it will read (those not read yet; every span held, for a capture checked
/// whole) and the cost per span the last large check measured: a gap set
/// from the last check's own cost let a check of a few spans early in a run be followed, half
/// a second later, by one of millions (about 2.5 µs a span on two cores, so ten seconds
/// for a million items' spans), which slowed the swarm by a third while it ran.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// Nanoseconds a span cost to check, as last measured (or assumed, before any large
    /// check).
    ns_per_span: f64,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            ns_per_span: Self::ASSUMED_NS_PER_SPAN,
        }
    }
}

impl Cadence {
    /// The shortest gap between snapshots.
    pub const MIN_GAP: Duration = Duration::from_millis(500);
    /// Gap per unit of check time.
    pub const COST_FACTOR: u32 = 20;
    /// The cost per span assumed until a check of `LEARN_FROM_SPANS` or more measures it:
    /// what decoding and checking cost on the two-core machine the bench runs on.
    pub const ASSUMED_NS_PER_SPAN: f64 = 2_500.0;
    /// Checks of fewer spans are mostly fixed cost, so they do not set the rate.
    pub const LEARN_FROM_SPANS: usize = 10_000;

    /// Learns the cost per span from a check of `spans` that took `took`.
    pub fn learn(&mut self, spans: usize, took: Duration) {
        if spans >= Self::LEARN_FROM_SPANS {
            self.ns_per_span = took.as_nanos() as f64 / spans as f64;
        }
    }

    /// The gap the next check, of `spans`, needs since the last one ended.
    pub fn gap_before(&self, spans: usize) -> Duration {
        let predicted = Duration::from_secs_f64(self.ns_per_span * spans as f64 / 1e9);
        Self::gap_after(predicted)
    }

    /// The gap after (or before) a check that takes `took`.
    pub fn gap_after(took: Duration) -> Duration {
        (took * Self::COST_FACTOR).max(Self::MIN_GAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordination::Mutant;
    use crate::swarm::{Contention, Mode, Swarm, SwarmConfig};
    use crate::telemetry::Capture;
    use std::sync::Arc;

    fn panel_for(discipline: crate::coordination::Discipline) -> InvariantPanel {
        let mut config = SwarmConfig::new(20, 60, 7);
        config.mode = Mode::Deterministic;
        config.contention = Contention::High;
        config.discipline = discipline;
        let capture = Arc::new(Capture::new(7));
        let _ = Swarm::new(config).run(Arc::clone(&capture));
        check(&capture.spans().unwrap_or_default(), 1)
    }

    // Proves the panel stays green on the correct engine and turns red on the blind-write
    // mutant, naming the doubly held items, from the same checks the verdicts run.
    #[test]
    fn blind_writes_turn_the_panel_red() {
        let correct = panel_for(crate::coordination::Discipline::Correct);
        assert!(!correct.red(), "{correct:?}");
        assert!(correct.spans_checked > 0);
        let broken = panel_for(crate::coordination::Discipline::Mutant(Mutant::BlindWrite));
        assert!(broken.red(), "{broken:?}");
        assert!(broken.checks[0].offences > 0);
        assert!(!broken.checks[0].evidence.is_empty());
    }

    // Proves the cadence never checks more often than MIN_GAP, backs off with the predicted
    // cost of the next check (spans held × cost per span), and learns the cost per span
    // from large checks only.
    #[test]
    fn cadence_backs_off_with_the_next_checks_cost() {
        assert_eq!(Cadence::gap_after(Duration::ZERO), Cadence::MIN_GAP);
        assert_eq!(
            Cadence::gap_after(Duration::from_millis(100)),
            Duration::from_secs(2)
        );
        let mut cadence = Cadence::default();
        assert_eq!(cadence.gap_before(0), Cadence::MIN_GAP);
        // 2.5 µs a span: 4 million spans would take 10 s, so wait 200 s.
        assert_eq!(cadence.gap_before(4_000_000), Duration::from_secs(200));
        cadence.learn(100, Duration::from_secs(1));
        assert_eq!(cadence.gap_before(4_000_000), Duration::from_secs(200));
        cadence.learn(1_000_000, Duration::from_millis(100));
        assert_eq!(cadence.gap_before(4_000_000), Duration::from_secs(8));
    }
}
