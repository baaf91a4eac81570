//! The work board: per team and stage, the items agents may look at, in arrival order.
//!
//! A board only grows (a reopened or handed-off item is appended again), so agents can scan
//! it without locks; whether an entry is still worth claiming is decided by peeking the
//! coordinator, and who gets it by the coordinator's claim, never by the board.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::coordination::TeamId;
use crate::ids::WorkId;

/// One board: items of one team at one stage.
#[derive(Debug, Default)]
pub struct Board {
    items: boxcar::Vec<WorkId>,
    /// Next entry to hand out in spread mode.
    shared_cursor: AtomicUsize,
    /// Everything before it is known not to be open: the shared sweep that finds items
    /// handed out but never claimed (their agent crashed first).
    sweep_cursor: AtomicUsize,
}

impl Board {
    /// Appends an item.
    pub fn push(&self, item: WorkId) {
        self.items.push(item);
    }

    /// The entry at `index`, if it has been written.
    pub fn get(&self, index: usize) -> Option<WorkId> {
        self.items.get(index).copied()
    }

    /// Reserves up to `len_max` written entries no other agent has been handed (spread
    /// mode) and returns their indexes. Taking a block instead of one entry moves the
    /// cursor every worker thread shares once per block, not once per item.
    pub fn reserve(&self, len_max: usize) -> Option<Range<usize>> {
        let mut cursor = self.shared_cursor.load(Ordering::Acquire);
        loop {
            // Only entries already written: one still being pushed ends the block.
            let end = (cursor..cursor + len_max.max(1))
                .find(|&index| self.get(index).is_none())
                .unwrap_or(cursor + len_max.max(1));
            if end == cursor {
                return None;
            }
            match self.shared_cursor.compare_exchange_weak(
                cursor,
                end,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(cursor..end),
                Err(actual) => cursor = actual,
            }
        }
    }
}

impl Board {
    /// The first entry `is_open` accepts, moving the shared sweep past entries it rejects.
    /// Shared by all agents, so the whole board is swept once per run, not once per agent.
    /// An entry `is_open` cannot judge (`None`: the system did not answer) stops the sweep
    /// where it is, to be judged again later: skipping it would lose the item for good.
    pub fn first_open(&self, is_open: impl Fn(WorkId) -> Option<bool>) -> Option<WorkId> {
        let mut cursor = self.sweep_cursor.load(Ordering::Acquire);
        loop {
            let item = self.get(cursor)?;
            match is_open(item) {
                Some(true) => return Some(item),
                Some(false) => {}
                None => return None,
            }
            // Only move on from the entry we judged; if another agent moved first, resume there.
            cursor = match self.sweep_cursor.compare_exchange(
                cursor,
                cursor + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => cursor + 1,
                Err(actual) => actual,
            };
        }
    }
}

/// All boards of a run, indexed by team and stage.
#[derive(Debug)]
pub struct Boards {
    stage_count: usize,
    boards: Vec<Board>,
}

impl Boards {
    /// Empty boards for `team_count` teams and `stage_count` stages.
    pub fn new(team_count: usize, stage_count: usize) -> Self {
        let boards = (0..team_count * stage_count)
            .map(|_| Board::default())
            .collect();
        Self {
            stage_count,
            boards,
        }
    }

    /// The board of one team's stage.
    pub fn board(&self, team: TeamId, stage: usize) -> &Board {
        &self.boards[team.0 as usize * self.stage_count + stage]
    }
}
