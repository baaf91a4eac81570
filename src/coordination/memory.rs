//! The reference engine: all state in memory, one atomic word per item.
//!
//! An item's status, stage and holder are packed into a single `AtomicU64`, so every state
//! change (claim, complete, release, handoff, reap) is one compare-and-swap on that item and
//! nothing else. The claim path takes no lock at all: agents and items live in append-only
//! vectors, found through an `IdIndex` read with plain atomic loads, and the decision is the
//! per-item CAS. (A sharded map's read locks were the largest cost of a claim, and made two
//! worker threads barely faster than one.)

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use super::index::IdIndex;
use super::mutant::{Discipline, Mutant};
use super::types::*;
use super::Coordinator;
use crate::error::{Error, Result};
use crate::ids::{AgentId, IdGenerator, WorkId};
use word::Packed;

/// Tells engines apart in `LAST_ITEM` (an address could be reused by a later engine).
static NEXT_ENGINE_SERIAL: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The item this thread looked up last: (engine serial, item id, position). An agent
    /// names one item in its peek, claim, progress and complete, one call after another on
    /// one thread, so most lookups skip the index. Entries never move, so a remembered
    /// position stays right for the engine's whole life.
    static LAST_ITEM: Cell<(u64, u64, u32)> = const { Cell::new((0, 0, 0)) };
}

/// Pipelines longer than this cannot be packed into the item word.
pub const PIPELINE_STAGES_MAX: usize = 1 << word::STAGE_BITS;

/// An agent; its slot (what an item word names as holder) is its position plus one.
/// Every call the agent makes writes its heartbeat here, so each entry has a cache line
/// of its own: packed three to a line, agents working on different cores wrote the same
/// line on every call.
#[derive(Debug)]
#[repr(align(64))]
struct AgentEntry {
    id: AgentId,
    role: Role,
    last_heartbeat_ns: AtomicU64,
}

#[derive(Debug)]
struct ItemEntry {
    id: WorkId,
    word: AtomicU64,
    progress_percent: AtomicU8,
    pipeline: Arc<[Role]>,
    team: TeamId,
}

/// The in-memory reference coordinator.
pub struct MemoryCoordinator {
    /// This engine's key in `LAST_ITEM`.
    serial: u64,
    ids: IdGenerator,
    /// Added to a call's `now_ns` to stamp identifiers with absolute nanoseconds.
    id_epoch_ns: u64,
    lease_duration_ns: u64,
    discipline: Discipline,
    /// Completions acknowledged so far (only `Mutant::LostCompletion` counts them).
    completions_acknowledged: AtomicU64,
    agents: boxcar::Vec<AgentEntry>,
    agent_index: IdIndex,
    items: boxcar::Vec<ItemEntry>,
    item_index: IdIndex,
}

impl std::fmt::Debug for MemoryCoordinator {
    /// Sizes, not every entry: an engine may hold millions.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCoordinator")
            .field("discipline", &self.discipline)
            .field("lease_duration_ns", &self.lease_duration_ns)
            .field("agents", &self.agents.count())
            .field("items", &self.items.count())
            .finish()
    }
}

impl MemoryCoordinator {
    /// An engine whose leases last `lease_duration_ns` past an agent's last sign of life.
    pub fn new(id_epoch_ns: u64, lease_duration_ns: u64, discipline: Discipline) -> Self {
        Self {
            serial: NEXT_ENGINE_SERIAL.fetch_add(1, Ordering::Relaxed),
            ids: IdGenerator::new(),
            id_epoch_ns,
            lease_duration_ns,
            discipline,
            completions_acknowledged: AtomicU64::new(0),
            agents: boxcar::Vec::new(),
            agent_index: IdIndex::new(),
            items: boxcar::Vec::new(),
            item_index: IdIndex::new(),
        }
    }

    /// The caller's entry and its holder slot.
    fn agent(&self, agent: AgentId) -> Result<(&AgentEntry, u32)> {
        self.agent_index
            .get(agent.0)
            .and_then(|position| Some((self.agents.get(position as usize)?, position + 1)))
            .ok_or_else(|| Error::UnknownAgent(agent.to_string()))
    }

    fn item(&self, item: WorkId) -> Result<&ItemEntry> {
        let (serial, last_id, last_position) = LAST_ITEM.get();
        let mine = serial == self.serial;
        // Callers mostly walk items in submission order, so after the same item the likeliest
        // next one is the entry after it: checking it reads memory next to the last one,
        // where a hash probe would miss the cache.
        let following = last_position.wrapping_add(1);
        let position = if mine && last_id == item.0 {
            Some(last_position)
        } else if mine
            && self
                .items
                .get(following as usize)
                .is_some_and(|entry| entry.id == item)
        {
            LAST_ITEM.set((self.serial, item.0, following));
            Some(following)
        } else {
            let found = self.item_index.get(item.0);
            if let Some(position) = found {
                LAST_ITEM.set((self.serial, item.0, position));
            }
            found
        };
        position
            .and_then(|position| self.items.get(position as usize))
            .ok_or_else(|| Error::UnknownWorkItem(item.to_string()))
    }

    fn holder_of(&self, slot: u32) -> Option<AgentId> {
        let position = slot.checked_sub(1)?;
        self.agents.get(position as usize).map(|agent| agent.id)
    }

    /// Applies `change` to the item's word with a CAS loop; `change` returns `None` to refuse.
    fn transition(
        entry: &ItemEntry,
        mut change: impl FnMut(Packed) -> Option<Packed>,
    ) -> std::result::Result<Packed, Packed> {
        let mut current = entry.word.load(Ordering::Acquire);
        loop {
            let before = Packed::decode(current);
            let Some(after) = change(before) else {
                return Err(before);
            };
            match entry.word.compare_exchange_weak(
                current,
                after.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(before),
                Err(actual) => current = actual,
            }
        }
    }

    fn touch(agent: &AgentEntry, now_ns: u64) {
        agent.last_heartbeat_ns.fetch_max(now_ns, Ordering::AcqRel);
    }

    /// Shared shape of calls that only apply while the caller holds the item; `next` gets
    /// the word and the caller's slot.
    fn while_held(
        &self,
        agent: AgentId,
        entry: &ItemEntry,
        now_ns: u64,
        mut next: impl FnMut(Packed, u32) -> Packed,
    ) -> Result<Ownership> {
        let (caller, slot) = self.agent(agent)?;
        let careless = self.discipline.is(Mutant::NonHolderWrites);
        let held = Self::transition(entry, |word| {
            let holds = word.status == ItemStatus::Claimed && word.holder_slot == slot;
            let accepted = holds || (careless && mutants::writable_by_anyone(word));
            accepted.then(|| next(word, slot))
        });
        if held.is_ok() {
            Self::touch(caller, now_ns);
        }
        Ok(if held.is_ok() {
            Ownership::Held
        } else {
            Ownership::LeaseLost
        })
    }
}

impl Coordinator for MemoryCoordinator {
    fn register_agent(&self, role: Role, _team: TeamId, now_ns: u64) -> Result<AgentId> {
        let id = AgentId(self.ids.next(self.id_epoch_ns + now_ns));
        let position = self.agents.push(AgentEntry {
            id,
            role,
            last_heartbeat_ns: AtomicU64::new(now_ns),
        });
        // The slot (position + 1) must fit the item word's holder field.
        let position = u32::try_from(position)
            .ok()
            .filter(|&p| p < u32::MAX)
            .ok_or_else(|| Error::InvalidConfig("more than 4 billion agents".into()))?;
        self.agent_index.insert(id.0, position);
        Ok(id)
    }

    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        if spec.pipeline.is_empty() || spec.pipeline.len() > PIPELINE_STAGES_MAX {
            return Err(Error::InvalidConfig(format!(
                "a work pipeline needs 1 to {PIPELINE_STAGES_MAX} stages, got {}",
                spec.pipeline.len()
            )));
        }
        let id = WorkId(self.ids.next(self.id_epoch_ns + now_ns));
        let open = Packed {
            status: ItemStatus::Open,
            stage: 0,
            holder_slot: 0,
        };
        let position = self.items.push(ItemEntry {
            id,
            word: AtomicU64::new(open.encode()),
            progress_percent: AtomicU8::new(0),
            pipeline: spec.pipeline,
            team: spec.team,
        });
        let position = u32::try_from(position)
            .map_err(|_| Error::InvalidConfig("more than 4 billion work items".into()))?;
        self.item_index.insert(id.0, position);
        Ok(id)
    }

    fn peek(&self, item: WorkId) -> Result<ItemView> {
        let entry = self.item(item)?;
        let word = Packed::decode(entry.word.load(Ordering::Acquire));
        Ok(ItemView {
            status: word.status,
            stage: word.stage,
            role: entry.pipeline[word.stage],
            team: entry.team,
            holder: self.holder_of(word.holder_slot),
        })
    }

    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        let (caller, slot) = self.agent(agent)?;
        let entry = self.item(item)?;
        let mut needed_role = None;
        let blind = self.discipline.is(Mutant::BlindWrite);
        let decide = |word: Packed| {
            let role = entry.pipeline[word.stage];
            if role != caller.role {
                needed_role = Some(role);
                return None;
            }
            needed_role = None;
            let claimable =
                word.status == ItemStatus::Open || (blind && word.status == ItemStatus::Claimed);
            claimable.then_some(Packed {
                status: ItemStatus::Claimed,
                stage: word.stage,
                holder_slot: slot,
            })
        };
        let result = if self.discipline.is(Mutant::RacyClaim) {
            mutants::read_decide_store(entry, decide)
        } else {
            Self::transition(entry, decide)
        };
        match (result, needed_role) {
            (Ok(before), _) => {
                Self::touch(caller, now_ns);
                Ok(ClaimOutcome::Claimed {
                    stage: before.stage,
                })
            }
            (Err(_), Some(needed)) => Ok(ClaimOutcome::WrongRole { needed }),
            (Err(before), None) => Ok(ClaimOutcome::Conflict {
                holder: self.holder_of(before.holder_slot),
            }),
        }
    }

    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        let entry = self.item(item)?;
        let outcome = self.while_held(agent, entry, now_ns, |word, _| word)?;
        if outcome == Ownership::Held {
            entry
                .progress_percent
                .store(percent.min(100), Ordering::Release);
        }
        Ok(outcome)
    }

    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        let entry = self.item(item)?;
        let stages = entry.pipeline.len();
        let mut finished_stage = 0;
        let outcome = self.while_held(agent, entry, now_ns, |word, slot| {
            finished_stage = word.stage;
            let last = word.stage + 1 == stages;
            Packed {
                status: if last {
                    ItemStatus::Done
                } else {
                    ItemStatus::StageDone
                },
                stage: word.stage,
                // The caller, who (but for `NonHolderWrites`) is the holder already.
                holder_slot: slot,
            }
        })?;
        if outcome == Ownership::Held && self.discipline.is(Mutant::LostCompletion) {
            self.maybe_lose_completion(entry);
        }
        Ok(match outcome {
            Ownership::Held => CompleteOutcome::Completed {
                stage: finished_stage,
                next: entry.pipeline.get(finished_stage + 1).copied(),
            },
            Ownership::LeaseLost => CompleteOutcome::LeaseLost,
        })
    }

    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        self.while_held(agent, self.item(item)?, now_ns, |word, _| Packed {
            status: ItemStatus::Open,
            stage: word.stage,
            holder_slot: 0,
        })
    }

    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        let (caller, slot) = self.agent(agent)?;
        let entry = self.item(item)?;
        let skips = self.discipline.is(Mutant::HandoffSkipsStage);
        let next_stage = |stage: usize| {
            if skips && stage + 2 < entry.pipeline.len() {
                stage + 2
            } else {
                stage + 1
            }
        };
        let result = Self::transition(entry, |word| {
            let ready = word.status == ItemStatus::StageDone && word.holder_slot == slot;
            ready.then_some(Packed {
                status: ItemStatus::Open,
                stage: next_stage(word.stage),
                holder_slot: 0,
            })
        });
        Ok(match result {
            Ok(before) => {
                Self::touch(caller, now_ns);
                let stage = next_stage(before.stage);
                HandoffOutcome::HandedOff {
                    stage,
                    role: entry.pipeline[stage],
                }
            }
            Err(_) => HandoffOutcome::Refused,
        })
    }

    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        let (caller, _) = self.agent(agent)?;
        Self::touch(caller, now_ns);
        Ok(())
    }

    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        let mut reaped = Vec::new();
        if self.discipline.is(Mutant::NeverReap) {
            return Ok(reaped);
        }
        let reaps_completed = self.discipline.is(Mutant::ReapReopensCompleted);
        for (_, entry) in self.items.iter() {
            let word = Packed::decode(entry.word.load(Ordering::Acquire));
            let reapable = word.status == ItemStatus::Claimed
                || (reaps_completed && mutants::has_holder(word));
            if !reapable {
                continue;
            }
            let Some(holder) = word
                .holder_slot
                .checked_sub(1)
                .and_then(|position| self.agents.get(position as usize))
            else {
                continue;
            };
            let last_seen = holder.last_heartbeat_ns.load(Ordering::Acquire);
            if now_ns.saturating_sub(last_seen) < self.lease_duration_ns {
                continue;
            }
            // Reopen only if the word is still exactly what we judged stale.
            let reopened = Self::transition(entry, |current| {
                (current == word).then_some(Packed {
                    status: ItemStatus::Open,
                    stage: word.stage,
                    holder_slot: 0,
                })
            });
            if reopened.is_ok() {
                reaped.push(Reaped {
                    item: entry.id,
                    previous_holder: holder.id,
                    stage: word.stage,
                });
            }
        }
        reaped.sort_by_key(|r| r.item);
        Ok(reaped)
    }
}

/// The packed form of an item's state.
#[path = "memory_word.rs"]
mod word;

/// The planted defects' own code paths.
#[path = "memory_mutants.rs"]
mod mutants;

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
