//! Where an agent finds its next item (its own reserved block of a board, a shared sweep,
//! or its own scan when racing), and how it tells the run it finished items.

use crate::coordination::ItemStatus;
use crate::ids::WorkId;
use crate::swarm::config::{Contention, Mode};

use super::Agent;

/// In throughput mode a spread-mode agent reserves this many board entries at a time, so
/// the board's shared cursor moves once per this many items (deterministic runs take one).
const SPREAD_BLOCK_ITEMS: usize = 8;
/// In throughput mode an agent publishes finished items to the run's shared counters once
/// per this many (and before it idles or stops), not once per item.
const FINISHED_PUBLISH_EVERY: usize = 16;

impl Agent {
    /// Notes that an item's last stage completed; published in batches on the real clock.
    pub(super) fn finish_item(&mut self) {
        self.finished_unpublished += 1;
        let every = match self.shared.config.mode {
            Mode::Throughput => FINISHED_PUBLISH_EVERY,
            Mode::Deterministic => 1,
        };
        if self.finished_unpublished >= every {
            self.publish_finished();
        }
    }

    pub(super) fn publish_finished(&mut self) {
        self.shared
            .finish_items(std::mem::take(&mut self.finished_unpublished));
    }

    /// The next item that looks open at one of this agent's stages, as seen on the boards.
    pub(super) fn next_candidate(&mut self) -> Option<(WorkId, usize)> {
        // Borrowed, not cloned: cloning the `Arc` would write its count, a line every
        // worker thread shares, once per item.
        let coordinator = self.shared.coordinator.as_ref();
        let looks_open = |item: WorkId, stage: usize| {
            coordinator
                .peek(item)
                .is_ok_and(|view| view.status == ItemStatus::Open && view.stage == stage)
        };
        let block_len = match self.shared.config.mode {
            Mode::Throughput => SPREAD_BLOCK_ITEMS,
            Mode::Deterministic => 1,
        };
        for (slot, &stage) in self.stages.iter().enumerate() {
            let board = self.shared.boards.board(self.plan.team, stage);
            if self.shared.config.contention == Contention::Spread {
                loop {
                    let Some(index) = self.reserved[slot].next() else {
                        match board.reserve(block_len) {
                            Some(block) => self.reserved[slot] = block,
                            None => break,
                        }
                        continue;
                    };
                    let item = board.get(index).filter(|&item| looks_open(item, stage));
                    if let Some(item) = item {
                        return Some((item, stage));
                    }
                }
                // Once the cursor has run dry, sweep for items handed to an agent that
                // crashed before claiming them, so they are not lost.
                let judged = |item: WorkId| {
                    coordinator
                        .peek(item)
                        .ok()
                        .map(|view| view.status == ItemStatus::Open && view.stage == stage)
                };
                if let Some(item) = board.first_open(judged) {
                    return Some((item, stage));
                }
                continue;
            }
            // High contention: every agent scans the board itself, racing the others.
            while let Some(item) = board.get(self.cursors[slot]) {
                if looks_open(item, stage) {
                    return Some((item, stage));
                }
                self.cursors[slot] += 1;
            }
        }
        None
    }
}
