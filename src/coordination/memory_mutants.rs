//! The code paths only a planted defect (`Mutant`) takes, kept apart so the correct engine
//! reads without them. Each one is a mistake a real coordinator could make; none is
//! reachable with `Discipline::Correct`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::word::Packed;
use super::{ItemEntry, MemoryCoordinator};
use crate::coordination::ItemStatus;

/// How long `Mutant::RacyClaim` takes between reading the word and storing its decision.
pub(super) const RACY_DECISION_WINDOW: Duration = Duration::from_micros(1);

/// `Mutant::LostCompletion` loses one acknowledged completion in this many.
pub(super) const LOST_COMPLETION_EVERY: u64 = 4;

/// `Mutant::RacyClaim`: read the word, decide, then store the decision with a plain write.
/// Between the read and the store another thread may read the same open word and decide
/// the same way; both stores land and both callers are told they won. (A coordinator that
/// reads a row, checks it in application code and writes it back makes this mistake.)
///
/// Such a coordinator waits on its storage between the read and the write (a microsecond
/// for the fastest stores, milliseconds over a network) while other clients run; this
/// engine, all in memory, would otherwise decide within nanoseconds and hide the race
/// behind its own speed. So the decision takes `RACY_DECISION_WINDOW`, spent spinning
/// (no sleep: virtual time does not move): still one read and one plain store.
pub(super) fn read_decide_store(
    entry: &ItemEntry,
    mut decide: impl FnMut(Packed) -> Option<Packed>,
) -> std::result::Result<Packed, Packed> {
    let before = Packed::decode(entry.word.load(Ordering::Acquire));
    match decide(before) {
        Some(after) => {
            let until = Instant::now() + RACY_DECISION_WINDOW;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            entry.word.store(after.encode(), Ordering::Release);
            Ok(before)
        }
        None => Err(before),
    }
}

/// `Mutant::NonHolderWrites`: the holder check is gone, only "not finished" is left.
pub(super) fn writable_by_anyone(word: Packed) -> bool {
    matches!(word.status, ItemStatus::Open | ItemStatus::Claimed)
}

/// `Mutant::ReapReopensCompleted`: the reaper asks only whether somebody is named holder
/// (completed stages keep their holder), not whether the stage is still being worked on.
pub(super) fn has_holder(word: Packed) -> bool {
    word.holder_slot != 0 && word.status != ItemStatus::Open
}

impl MemoryCoordinator {
    /// `Mutant::LostCompletion`: after a completion was acknowledged, every
    /// `LOST_COMPLETION_EVERY`th one is undone, the item open again at the same stage, as
    /// if the write had not reached durable state before the engine answered.
    pub(super) fn maybe_lose_completion(&self, entry: &ItemEntry) {
        let count = self.completions_acknowledged.fetch_add(1, Ordering::AcqRel);
        if count % LOST_COMPLETION_EVERY != LOST_COMPLETION_EVERY - 1 {
            return;
        }
        // Undo only the completion just written; a word that moved on since is left alone.
        let _ = Self::transition(entry, |word| {
            matches!(word.status, ItemStatus::StageDone | ItemStatus::Done).then_some(Packed {
                status: ItemStatus::Open,
                stage: word.stage,
                holder_slot: 0,
            })
        });
    }
}
