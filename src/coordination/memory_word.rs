//! An item's status, stage and holder packed into one 64-bit word, so that every change of
//! state is a single compare-and-swap.

use crate::coordination::ItemStatus;

const STATUS_BITS: u64 = 8;
pub(super) const STAGE_BITS: u64 = 8;
const STATUS_MASK: u64 = (1 << STATUS_BITS) - 1;
const STAGE_MASK: u64 = (1 << STAGE_BITS) - 1;

/// The decoded form of an item's atomic word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Packed {
    pub(super) status: ItemStatus,
    pub(super) stage: usize,
    /// Registration index of the holder, plus one; 0 means nobody.
    pub(super) holder_slot: u32,
}

impl Packed {
    pub(super) fn encode(self) -> u64 {
        let status = match self.status {
            ItemStatus::Open => 0,
            ItemStatus::Claimed => 1,
            ItemStatus::StageDone => 2,
            ItemStatus::Done => 3,
        };
        (u64::from(self.holder_slot) << (STATUS_BITS + STAGE_BITS))
            | ((self.stage as u64 & STAGE_MASK) << STATUS_BITS)
            | status
    }

    pub(super) fn decode(word: u64) -> Self {
        let status = match word & STATUS_MASK {
            0 => ItemStatus::Open,
            1 => ItemStatus::Claimed,
            2 => ItemStatus::StageDone,
            3 => ItemStatus::Done,
            other => unreachable!("item word holds unknown status {other}"),
        };
        Self {
            status,
            stage: ((word >> STATUS_BITS) & STAGE_MASK) as usize,
            holder_slot: (word >> (STATUS_BITS + STAGE_BITS)) as u32,
        }
    }
}
