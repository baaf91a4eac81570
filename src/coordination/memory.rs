//! The reference engine: all state in memory, one atomic word per item.
//!
//! An item's status, stage and holder are packed into a single `AtomicU64`, so every state
//! change (claim, complete, release, handoff, reap) is one compare-and-swap on that item and
//! nothing else. The claim path takes no lock shared by all agents: lookups go through
//! `DashMap`'s sharded maps, and the decision is the per-item CAS.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use super::types::*;
use super::Coordinator;
use crate::error::{Error, Result};
use crate::ids::{AgentId, IdGenerator, WorkId};

/// How the engine decides a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum ClaimDiscipline {
    /// Correct: compare-and-swap from open to claimed; one winner per item and stage.
    #[default]
    CompareAndSwap,
    /// Deliberately broken: the claim overwrites whoever holds the item. It exists only so
    /// that the double-claim checker can be shown to catch a broken engine.
    BlindWrite,
}

const STATUS_BITS: u64 = 8;
const STAGE_BITS: u64 = 8;
const STATUS_MASK: u64 = (1 << STATUS_BITS) - 1;
const STAGE_MASK: u64 = (1 << STAGE_BITS) - 1;
/// Pipelines longer than this cannot be packed into the item word.
pub const PIPELINE_STAGES_MAX: usize = 1 << STAGE_BITS;

/// The decoded form of an item's atomic word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    status: ItemStatus,
    stage: usize,
    /// Registration index of the holder, plus one; 0 means nobody.
    holder_slot: u32,
}

impl Packed {
    fn encode(self) -> u64 {
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

    fn decode(word: u64) -> Self {
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

#[derive(Debug)]
struct AgentEntry {
    slot: u32,
    role: Role,
    last_heartbeat_ns: AtomicU64,
}

#[derive(Debug)]
struct ItemEntry {
    word: AtomicU64,
    progress_percent: AtomicU8,
    pipeline: Arc<[Role]>,
    team: TeamId,
}

/// The in-memory reference coordinator.
#[derive(Debug)]
pub struct MemoryCoordinator {
    ids: IdGenerator,
    /// Added to a call's `now_ns` to stamp identifiers with absolute nanoseconds.
    id_epoch_ns: u64,
    lease_duration_ns: u64,
    discipline: ClaimDiscipline,
    agents: DashMap<AgentId, AgentEntry>,
    agents_by_slot: DashMap<u32, AgentId>,
    next_agent_slot: AtomicU64,
    items: DashMap<WorkId, ItemEntry>,
}

impl MemoryCoordinator {
    /// An engine whose leases last `lease_duration_ns` past an agent's last sign of life.
    pub fn new(id_epoch_ns: u64, lease_duration_ns: u64, discipline: ClaimDiscipline) -> Self {
        Self {
            ids: IdGenerator::new(),
            id_epoch_ns,
            lease_duration_ns,
            discipline,
            agents: DashMap::new(),
            agents_by_slot: DashMap::new(),
            next_agent_slot: AtomicU64::new(1),
            items: DashMap::new(),
        }
    }

    fn agent(&self, agent: AgentId) -> Result<dashmap::mapref::one::Ref<'_, AgentId, AgentEntry>> {
        self.agents
            .get(&agent)
            .ok_or_else(|| Error::UnknownAgent(agent.to_string()))
    }

    fn item(&self, item: WorkId) -> Result<dashmap::mapref::one::Ref<'_, WorkId, ItemEntry>> {
        self.items
            .get(&item)
            .ok_or_else(|| Error::UnknownWorkItem(item.to_string()))
    }

    fn holder_of(&self, slot: u32) -> Option<AgentId> {
        (slot != 0).then(|| self.agents_by_slot.get(&slot).map(|id| *id))?
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

    /// Shared shape of calls that only apply while the caller holds the item.
    fn while_held(
        &self,
        agent: AgentId,
        item: WorkId,
        now_ns: u64,
        mut next: impl FnMut(Packed) -> Packed,
    ) -> Result<Ownership> {
        let caller = self.agent(agent)?;
        let entry = self.item(item)?;
        let held = Self::transition(&entry, |word| {
            (word.status == ItemStatus::Claimed && word.holder_slot == caller.slot)
                .then(|| next(word))
        });
        if held.is_ok() {
            Self::touch(&caller, now_ns);
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
        let slot = u32::try_from(self.next_agent_slot.fetch_add(1, Ordering::Relaxed))
            .map_err(|_| Error::InvalidConfig("more than 4 billion agents".into()))?;
        self.agents_by_slot.insert(slot, id);
        self.agents.insert(
            id,
            AgentEntry {
                slot,
                role,
                last_heartbeat_ns: AtomicU64::new(now_ns),
            },
        );
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
        self.items.insert(
            id,
            ItemEntry {
                word: AtomicU64::new(open.encode()),
                progress_percent: AtomicU8::new(0),
                pipeline: spec.pipeline,
                team: spec.team,
            },
        );
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
        let caller = self.agent(agent)?;
        let entry = self.item(item)?;
        let mut needed_role = None;
        let discipline = self.discipline;
        let result = Self::transition(&entry, |word| {
            let role = entry.pipeline[word.stage];
            if role != caller.role {
                needed_role = Some(role);
                return None;
            }
            needed_role = None;
            let claimable = match discipline {
                ClaimDiscipline::CompareAndSwap => word.status == ItemStatus::Open,
                ClaimDiscipline::BlindWrite => {
                    matches!(word.status, ItemStatus::Open | ItemStatus::Claimed)
                }
            };
            claimable.then_some(Packed {
                status: ItemStatus::Claimed,
                stage: word.stage,
                holder_slot: caller.slot,
            })
        });
        match (result, needed_role) {
            (Ok(before), _) => {
                Self::touch(&caller, now_ns);
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
        let outcome = self.while_held(agent, item, now_ns, |word| word)?;
        if outcome == Ownership::Held {
            self.item(item)?
                .progress_percent
                .store(percent.min(100), Ordering::Release);
        }
        Ok(outcome)
    }

    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        let entry = self.item(item)?;
        let stages = entry.pipeline.len();
        let pipeline = Arc::clone(&entry.pipeline);
        drop(entry);
        let mut finished_stage = 0;
        let outcome = self.while_held(agent, item, now_ns, |word| {
            finished_stage = word.stage;
            let last = word.stage + 1 == stages;
            Packed {
                status: if last {
                    ItemStatus::Done
                } else {
                    ItemStatus::StageDone
                },
                stage: word.stage,
                holder_slot: word.holder_slot,
            }
        });
        Ok(match outcome? {
            Ownership::Held => CompleteOutcome::Completed {
                stage: finished_stage,
                next: pipeline.get(finished_stage + 1).copied(),
            },
            Ownership::LeaseLost => CompleteOutcome::LeaseLost,
        })
    }

    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        self.while_held(agent, item, now_ns, |word| Packed {
            status: ItemStatus::Open,
            stage: word.stage,
            holder_slot: 0,
        })
    }

    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        let caller = self.agent(agent)?;
        let entry = self.item(item)?;
        let result = Self::transition(&entry, |word| {
            let ready = word.status == ItemStatus::StageDone && word.holder_slot == caller.slot;
            ready.then_some(Packed {
                status: ItemStatus::Open,
                stage: word.stage + 1,
                holder_slot: 0,
            })
        });
        Ok(match result {
            Ok(before) => {
                Self::touch(&caller, now_ns);
                HandoffOutcome::HandedOff {
                    stage: before.stage + 1,
                    role: entry.pipeline[before.stage + 1],
                }
            }
            Err(_) => HandoffOutcome::Refused,
        })
    }

    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        let caller = self.agent(agent)?;
        Self::touch(&caller, now_ns);
        Ok(())
    }

    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        let mut reaped = Vec::new();
        for entry in self.items.iter() {
            let word = Packed::decode(entry.word.load(Ordering::Acquire));
            if word.status != ItemStatus::Claimed {
                continue;
            }
            let Some(holder) = self.holder_of(word.holder_slot) else {
                continue;
            };
            let last_seen = self
                .agents
                .get(&holder)
                .map(|agent| agent.last_heartbeat_ns.load(Ordering::Acquire))
                .unwrap_or(0);
            if now_ns.saturating_sub(last_seen) < self.lease_duration_ns {
                continue;
            }
            // Reopen only if the word is still exactly what we judged stale.
            let reopened = Self::transition(&entry, |current| {
                (current == word).then_some(Packed {
                    status: ItemStatus::Open,
                    stage: word.stage,
                    holder_slot: 0,
                })
            });
            if reopened.is_ok() {
                reaped.push(Reaped {
                    item: *entry.key(),
                    previous_holder: holder,
                    stage: word.stage,
                });
            }
        }
        reaped.sort_by_key(|r| r.item);
        Ok(reaped)
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
