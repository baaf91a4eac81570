//! `IdIndex`: an insert-only map from an identifier to a position, read without locks.
//!
//! Every claim, progress and complete looks its item and its agent up. A sharded map
//! (`DashMap`) takes a shard's read lock for that: two atomic read-modify-writes on a cache
//! line every worker thread also writes, which made one worker thread faster than two. Here
//! a lookup is a hash and a probe of plain atomic loads; only inserts (registration,
//! submission) take the writers' mutex.
//!
//! Identifiers are never removed, so the open-addressing table needs no tombstones. When it
//! fills past three quarters, the writer copies it into one twice as large and publishes the
//! new one; the old tables stay allocated until the index is dropped (at most the size of the
//! current one in total), because a reader may still be probing them. A reader that misses in
//! a table being replaced retries under the writers' mutex, so an identifier inserted before
//! the lookup began is always found.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Slots of the first table (a power of two).
const INITIAL_SLOTS: usize = 64;
/// The table grows once entries would exceed this share of its slots (numerator, over 4).
const LOAD_QUARTERS_MAX: usize = 3;
/// The key of an empty slot; identifiers are never 0 (they start past the last issued, 0).
const EMPTY: u64 = 0;

/// A key and its position side by side, so a lookup touches one cache line, not two.
struct Slot {
    key: AtomicU64,
    position: AtomicU32,
}

struct Table {
    slots: Box<[Slot]>,
    mask: usize,
}

impl Table {
    fn with_slots(slot_count: usize) -> Self {
        Self {
            slots: (0..slot_count)
                .map(|_| Slot {
                    key: AtomicU64::new(EMPTY),
                    position: AtomicU32::new(0),
                })
                .collect(),
            mask: slot_count - 1,
        }
    }

    /// The position stored for `id`, probing from its hash until an empty slot.
    fn get(&self, id: u64) -> Option<u32> {
        let mut index = spread(id) as usize & self.mask;
        // Bounded: the table is never more than three quarters full, so an empty slot exists.
        loop {
            let slot = &self.slots[index];
            match slot.key.load(Ordering::Acquire) {
                EMPTY => return None,
                key if key == id => return Some(slot.position.load(Ordering::Relaxed)),
                _ => index = (index + 1) & self.mask,
            }
        }
    }

    /// Stores `id` (writers' mutex held): the position first, then the key that publishes it.
    fn put(&self, id: u64, position: u32) {
        let mut index = spread(id) as usize & self.mask;
        while self.slots[index].key.load(Ordering::Relaxed) != EMPTY {
            index = (index + 1) & self.mask;
        }
        self.slots[index]
            .position
            .store(position, Ordering::Relaxed);
        self.slots[index].key.store(id, Ordering::Release);
    }
}

/// splitmix64's finaliser: identifiers are nanosecond stamps whose low bits repeat in runs,
/// so they are mixed before they pick a slot.
fn spread(id: u64) -> u64 {
    let mut z = id;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Insert-only identifier → position map with lock-free lookups.
pub struct IdIndex {
    /// Every table ever used, the current one last; older ones may still be read.
    tables: boxcar::Vec<Table>,
    current: AtomicUsize,
    /// Held by inserts; counts the entries.
    writer: Mutex<usize>,
}

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdIndex").field("len", &self.len()).finish()
    }
}

impl Default for IdIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl IdIndex {
    /// An empty index.
    pub fn new() -> Self {
        let tables = boxcar::Vec::new();
        tables.push(Table::with_slots(INITIAL_SLOTS));
        Self {
            tables,
            current: AtomicUsize::new(0),
            writer: Mutex::new(0),
        }
    }

    fn table(&self) -> &Table {
        &self.tables[self.current.load(Ordering::Acquire)]
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        *self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maps `id` (never 0, not already present) to `position`.
    pub fn insert(&self, id: u64, position: u32) {
        assert_ne!(id, EMPTY, "identifier 0 cannot be indexed");
        // A panic cannot leave the table half-written (a key is published last), so a
        // poisoned mutex is still safe to use.
        let mut len = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        debug_assert!(
            self.table().get(id).is_none(),
            "identifier {id} inserted twice"
        );
        let table = self.table();
        if (*len + 1) * 4 > table.slots.len() * LOAD_QUARTERS_MAX {
            let bigger = Table::with_slots(table.slots.len() * 2);
            for slot in table.slots.iter() {
                let key = slot.key.load(Ordering::Relaxed);
                if key != EMPTY {
                    bigger.put(key, slot.position.load(Ordering::Relaxed));
                }
            }
            let index = self.tables.push(bigger);
            self.current.store(index, Ordering::Release);
        }
        self.table().put(id, position);
        *len += 1;
    }

    /// The position of `id`, if it was inserted.
    pub fn get(&self, id: u64) -> Option<u32> {
        if let Some(position) = self.table().get(id) {
            return Some(position);
        }
        // A miss may be a table replaced under us: look again with inserts held off.
        let _held = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.table().get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every inserted identifier is found through several growths, and others are not.
    #[test]
    fn finds_everything_inserted_across_growth() {
        let index = IdIndex::new();
        let ids: Vec<u64> = (1..=10_000u64).map(|n| n * 1_000 + 7).collect();
        for (position, &id) in ids.iter().enumerate() {
            index.insert(id, position as u32);
        }
        assert_eq!(index.len(), ids.len());
        for (position, &id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(position as u32));
        }
        assert_eq!(index.get(8), None);
    }

    // Proves lookups running beside inserts never miss an identifier inserted before them.
    #[test]
    fn concurrent_readers_see_earlier_inserts() {
        let index = IdIndex::new();
        let published = AtomicU64::new(0);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for id in 1..=20_000u64 {
                    index.insert(id, id as u32);
                    published.store(id, Ordering::Release);
                }
            });
            scope.spawn(|| {
                while published.load(Ordering::Acquire) < 20_000 {
                    let last = published.load(Ordering::Acquire);
                    if last > 0 {
                        assert_eq!(index.get(last), Some(last as u32));
                    }
                }
            });
        });
    }
}
