//! State every task of one run shares: configuration, the coordinator, the capture, boards.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::board::Boards;
use super::clock::RunClock;
use super::config::SwarmConfig;
use crate::coordination::{Coordinator, Role};
use crate::telemetry::{item_root, Capture, SpanParent, TimeBase};

/// The run's shared state. Nothing here is locked on the hot path: counters are atomics,
/// boards are append-only, and the coordinator synchronises itself.
pub struct Shared {
    /// What the run was asked to do.
    pub config: SwarmConfig,
    /// The roles each item passes through.
    pub pipeline: Arc<[Role]>,
    /// The system under test.
    pub coordinator: Arc<dyn Coordinator>,
    /// Where evidence goes.
    pub capture: Arc<Capture>,
    /// Work boards by team and stage.
    pub boards: Boards,
    /// Items whose last stage is not yet complete: as this run's agents saw it, or, for a
    /// run attached to a store other processes also work on, as the watcher last counted it
    /// in the store (`counted_externally`).
    pub remaining: AtomicUsize,
    /// Whether `remaining` is the watcher's count rather than this run's own tally.
    pub counted_externally: bool,
    /// Items finished, shared with whoever shows progress.
    pub finished: Arc<AtomicU64>,
    /// Run-relative clock.
    pub clock: RunClock,
    /// Span timestamps base.
    pub time_base: TimeBase,
    /// Run-relative time at which everything stops.
    pub deadline_ns: u64,
    /// What the system under test offers: agents heartbeat and the reaper runs only if it
    /// has those calls.
    pub capabilities: crate::systems::Capabilities,
    /// Agents' states for a live view, when one watches (`run --serve`).
    pub live: Option<Arc<crate::live::LiveAgents>>,
    /// The `swarm.run` span every agent's and the reaper's session is a child of; none
    /// when no spans are kept.
    pub run_span: Option<SpanParent>,
}

impl Shared {
    /// The trace and root span of `item` (see `telemetry::item_trace`).
    pub fn item_root(&self, item: crate::ids::WorkId) -> SpanParent {
        item_root(self.config.item_trace_salt(), item)
    }

    /// Notes that `count` items' last stages completed. Agents on the real clock call it
    /// once per few items, not per item: both counters sit on lines every worker thread
    /// would otherwise write for every item.
    pub fn finish_items(&self, count: usize) {
        if count == 0 {
            return;
        }
        // Attached runs leave `remaining` to the watcher: decrementing a count that already
        // saw these completions in the store would count them twice.
        if !self.counted_externally {
            // Saturating: an engine that acknowledges one item's last stage twice (a broken
            // one) then ends the run early, leaving items unfinished for the checks to name,
            // instead of wrapping the count and keeping every agent busy to the deadline.
            let _ = self
                .remaining
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                    Some(left.saturating_sub(count))
                });
        }
        self.finished.fetch_add(count as u64, Ordering::Relaxed);
    }
}
