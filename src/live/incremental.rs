//! The live invariant checks, run in steps: each look at a running capture reads only the
//! spans that are new since the last, and re-runs the item checks on just the items those
//! spans touched.
//!
//! The panel's three checks (double holds, non-holder writes, lost completions) judge each
//! item from that item's own spans alone, so the capture's offences are the union of every
//! item's, and an item no new span touched keeps the offences it had. Checking every span
//! on every look made one look at a million-item run cost 9–19 s and gigabytes of decoded
//! spans; a look now costs about what its new spans, and their items' earlier spans, cost.
//! The checks run are the verdicts' own (`invariants::item_offences`), on fewer spans.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use super::invariants::{self, InvariantPanel, CHECK_NAMES};
use super::marks::FaultMarks;
use crate::telemetry::compact::{Cursor, Snapshot, SpanPosition};
use crate::telemetry::{AttrValue, SpanRecord};

/// An item, by a hash of its id: two ids that collide are simply checked together, which
/// changes no result (the checks group spans by item themselves).
type ItemKey = u64;

/// New spans decoded at a time: enough that an item's spans mostly arrive in one batch,
/// few enough that a backlog of millions is never held decoded at once (about 0.7 KB each).
const BATCH: usize = 1 << 16;

/// What the checker has read of one capture so far.
#[derive(Debug, Default)]
pub struct IncrementalCheck {
    cursor: Cursor,
    /// Where each item's spans that the item checks read lie in the store.
    items: HashMap<ItemKey, Vec<SpanPosition>>,
    /// Offences of the items that have any, per check.
    offences: BTreeMap<ItemKey, [Vec<String>; 3]>,
    error_spans: usize,
    crashes: usize,
    reaps: usize,
    marks: FaultMarks,
}

/// The item a span is about, if it is one the item checks read: a winning claim, or any
/// progress, completion, release, handoff or reap. Claims that lost are by far the most
/// frequent spans under contention and none of the checks reads them, so keeping them out
/// keeps a contended item's re-check short.
fn item_of(span: &SpanRecord) -> Option<ItemKey> {
    let read = match span.name.as_str() {
        "work.claim" => span.attr_text("work.outcome").as_deref() == Some("claimed"),
        "work.progress" | "work.complete" | "work.release" | "work.handoff" | "lease.reap" => true,
        _ => false,
    };
    if !read {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    match span.attr("work.item_id")? {
        AttrValue::Str(text) => text.hash(&mut hasher),
        other => other.to_string().hash(&mut hasher),
    }
    Some(hasher.finish())
}

impl IncrementalCheck {
    /// Spans read so far.
    pub fn spans_checked(&self) -> usize {
        self.cursor.spans()
    }

    /// Spans `snapshot` holds that have not been read.
    pub fn unread(&self, snapshot: &Snapshot) -> usize {
        snapshot.unread(&self.cursor)
    }

    /// Reads the spans `snapshot` holds beyond what was read before and re-checks the items
    /// they touched, `BATCH` spans at a time.
    pub fn advance(&mut self, snapshot: &Snapshot) {
        self.advance_by(snapshot, BATCH);
    }

    fn advance_by(&mut self, snapshot: &Snapshot, batch: usize) {
        while self.unread(snapshot) > 0 {
            let batch = snapshot.read_new(&mut self.cursor, batch);
            self.take(snapshot, batch);
        }
    }

    /// Counts a batch of new spans and re-checks the items it touched.
    fn take(&mut self, snapshot: &Snapshot, batch: Vec<(SpanPosition, SpanRecord)>) {
        let mut touched: HashMap<ItemKey, Vec<SpanRecord>> = HashMap::new();
        for (position, span) in batch {
            self.error_spans += usize::from(span.is_error());
            self.crashes += usize::from(span.name == "agent.crash");
            self.reaps += usize::from(span.name == "lease.reap");
            self.marks.add(&span);
            if let Some(item) = item_of(&span) {
                self.items.entry(item).or_default().push(position);
                touched.entry(item).or_default().push(span);
            }
        }
        for (item, fresh) in touched {
            let positions = self.items.get(&item).map_or(&[][..], Vec::as_slice);
            let earlier = &positions[..positions.len().saturating_sub(fresh.len())];
            let mut spans: Vec<SpanRecord> = earlier
                .iter()
                .filter_map(|&position| snapshot.record(position))
                .collect();
            spans.extend(fresh);
            let found = invariants::item_offences(&spans);
            if found.iter().all(Vec::is_empty) {
                self.offences.remove(&item);
            } else {
                self.offences.insert(item, found);
            }
        }
    }

    /// The panel for everything read so far, as the `snapshots`th look.
    pub fn panel(&self, snapshots: u64) -> InvariantPanel {
        let checks = CHECK_NAMES
            .iter()
            .enumerate()
            .map(|(row, &name)| {
                let count = self.offences.values().map(|found| found[row].len()).sum();
                let evidence = self
                    .offences
                    .values()
                    .flat_map(|found| found[row].iter().cloned())
                    .take(invariants::EVIDENCE_SHOWN)
                    .collect();
                invariants::check_state(name, count, evidence)
            })
            .collect();
        InvariantPanel {
            spans_checked: self.spans_checked(),
            snapshots,
            checks,
            error_spans: self.error_spans,
            crashes: self.crashes,
            reaps: self.reaps,
            timeline: self.marks.timeline(),
            problem: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordination::{Discipline, Mutant};
    use crate::swarm::{Contention, CrashFault, Faults, Mode, Swarm, SwarmConfig};
    use crate::telemetry::Capture;
    use std::sync::Arc;
    use std::time::Duration;

    fn captured(discipline: Discipline, crashes: bool) -> Arc<Capture> {
        let mut config = SwarmConfig::new(20, 80, 11);
        config.mode = Mode::Deterministic;
        config.contention = Contention::High;
        config.discipline = discipline;
        if crashes {
            config.lease_duration = Duration::from_millis(5);
            config.faults = Faults {
                crash: Some(CrashFault {
                    agent_count: 3,
                    at: Duration::from_millis(2),
                }),
                ..Faults::default()
            };
        }
        let capture = Arc::new(Capture::new(11));
        let _ = Swarm::new(config).run(Arc::clone(&capture));
        capture
    }

    /// Each check's offence count and evidence lines shown.
    fn summary(panel: &InvariantPanel) -> Vec<(usize, usize)> {
        panel
            .checks
            .iter()
            .map(|check| (check.offences, check.evidence.len()))
            .collect()
    }

    // Proves that reading a capture in five steps, each in batches, gives the panel one check of every span
    // gives (offence counts, fault counts, timeline), on the correct engine and on mutants
    // that fire each check: an item re-checked with its earlier spans finds what the whole
    // capture shows.
    #[test]
    fn stepwise_reading_equals_checking_every_span() {
        let runs = [
            (Discipline::Correct, false),
            (Discipline::Correct, true),
            (Discipline::Mutant(Mutant::BlindWrite), false),
            (Discipline::Mutant(Mutant::NonHolderWrites), true),
            (Discipline::Mutant(Mutant::LostCompletion), false),
            (Discipline::Mutant(Mutant::ReapReopensCompleted), true),
        ];
        let mut fired = 0;
        for (discipline, crashes) in runs {
            let capture = captured(discipline, crashes);
            let store = capture.compact_store().expect("a compact capture");
            let whole = store.snapshot().unwrap();
            let mut stepwise = IncrementalCheck::default();
            for step in 1..=5 {
                // Small batches too, so an item's spans also straddle batches of one look.
                stepwise.advance_by(&whole.prefix(f64::from(step) / 5.0), 97);
            }
            assert_eq!(stepwise.unread(&whole), 0);
            let spans = capture.spans().unwrap();
            let expected = invariants::check(&spans, 5);
            let got = stepwise.panel(5);
            assert_eq!(got.spans_checked, spans.len());
            assert_eq!(summary(&got), summary(&expected), "{discipline:?}");
            assert_eq!(
                (got.error_spans, got.crashes, got.reaps, &got.timeline),
                (
                    expected.error_spans,
                    expected.crashes,
                    expected.reaps,
                    &expected.timeline
                )
            );
            println!(
                "{discipline:?} crashes {crashes}: {:?} reaps {}",
                summary(&got),
                got.reaps
            );
            fired += usize::from(got.red());
        }
        assert_eq!(fired, 4, "each mutant should fire a check");
    }
}
