//! `TinyLedger`: a coordinator written outside swarmspec, to show that a crate can verify its
//! own `Coordinator` with swarmspec's whole step catalogue (see `tests/features.rs`).
//!
//! It is deliberately the plainest design that is correct: one `Mutex` around two hash maps.
//! Every call takes the lock, decides, and changes state before letting go, so a claim is
//! atomic because nothing else can run between its check and its write. It is not fast (all
//! agents queue on one lock), and it need not be: the suite checks what it does, not how.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use swarmspec::coordination::{
    ClaimOutcome, CompleteOutcome, Coordinator, HandoffOutcome, ItemStatus, ItemView, Ownership,
    Reaped, Role, TeamId, WorkSpec,
};
use swarmspec::error::{Error, Result};
use swarmspec::ids::{AgentId, WorkId};
use swarmspec::systems::Capabilities;

/// What the ledger keeps per agent: its role decides which stages it may claim, and its
/// last sign of life decides whether its leases have lapsed.
#[derive(Debug)]
struct Agent {
    role: Role,
    last_seen_ns: u64,
}

/// One work item: where it stands in its pipeline and who holds it.
#[derive(Debug)]
struct Item {
    pipeline: Arc<[Role]>,
    team: TeamId,
    stage: usize,
    status: ItemStatus,
    /// The claimant while `Claimed`; the completer while `StageDone`/`Done` (a handoff
    /// must come from the agent that completed the stage).
    holder: Option<AgentId>,
    /// Recorded as the trait asks; nothing reads it back (`ItemView` does not carry it).
    progress_percent: u8,
}

#[derive(Debug, Default)]
struct State {
    /// The last identifier issued; agents and items share it, so no two ids are equal.
    last_id: u64,
    agents: HashMap<AgentId, Agent>,
    items: HashMap<WorkId, Item>,
}

impl State {
    /// A counter, not a clock: ids are unique and increase in creation order because every
    /// call that mints one holds the lock. (swarmspec checks exactly that of agent ids.)
    fn mint(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    fn agent(&mut self, agent: AgentId) -> Result<&mut Agent> {
        self.agents
            .get_mut(&agent)
            .ok_or_else(|| Error::UnknownAgent(agent.to_string()))
    }

    fn item(&mut self, item: WorkId) -> Result<&mut Item> {
        self.items
            .get_mut(&item)
            .ok_or_else(|| Error::UnknownWorkItem(item.to_string()))
    }

    /// The shared rule of progress, complete and release: they apply only while `agent`
    /// holds `item`, and then count as a sign of life.
    fn while_held(
        &mut self,
        agent: AgentId,
        item: WorkId,
        now_ns: u64,
        change: impl FnOnce(&mut Item),
    ) -> Result<Ownership> {
        self.agent(agent)?;
        let entry = self.item(item)?;
        if entry.status != ItemStatus::Claimed || entry.holder != Some(agent) {
            return Ok(Ownership::LeaseLost);
        }
        change(entry);
        self.touch(agent, now_ns)?;
        Ok(Ownership::Held)
    }

    /// A sign of life from `agent`. Never moves backwards: a call stamped by a clock that
    /// runs behind must not shorten the agent's leases.
    fn touch(&mut self, agent: AgentId, now_ns: u64) -> Result<()> {
        let entry = self.agent(agent)?;
        entry.last_seen_ns = entry.last_seen_ns.max(now_ns);
        Ok(())
    }
}

/// A coordinator in one lock. Leases last `lease_ns` past an agent's last call.
#[derive(Debug)]
pub struct TinyLedger {
    lease_ns: u64,
    state: Mutex<State>,
}

impl TinyLedger {
    /// Everything a swarm can ask for except planted defects (those live in swarmspec's own
    /// engine). Time comes only from each call's `now_ns`, so deterministic runs work.
    pub const CAPABILITIES: Capabilities = Capabilities {
        planted_defects: false,
        ..Capabilities::ALL
    };

    /// An empty ledger whose leases last `lease_ns`.
    pub fn new(lease_ns: u64) -> Self {
        Self {
            lease_ns,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No call panics halfway through a change, so a poisoned lock still guards whole state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Coordinator for TinyLedger {
    fn register_agent(&self, role: Role, _team: TeamId, now_ns: u64) -> Result<AgentId> {
        let mut state = self.state();
        let id = AgentId(state.mint());
        let agent = Agent {
            role,
            last_seen_ns: now_ns,
        };
        state.agents.insert(id, agent);
        Ok(id)
    }

    fn submit(&self, spec: WorkSpec, _now_ns: u64) -> Result<WorkId> {
        if spec.pipeline.is_empty() {
            return Err(Error::InvalidConfig("a work pipeline needs a stage".into()));
        }
        let mut state = self.state();
        let id = WorkId(state.mint());
        let item = Item {
            pipeline: spec.pipeline,
            team: spec.team,
            stage: 0,
            status: ItemStatus::Open,
            holder: None,
            progress_percent: 0,
        };
        state.items.insert(id, item);
        Ok(id)
    }

    fn peek(&self, item: WorkId) -> Result<ItemView> {
        let mut state = self.state();
        let entry = state.item(item)?;
        Ok(ItemView {
            status: entry.status,
            stage: entry.stage,
            role: entry.pipeline[entry.stage],
            team: entry.team,
            holder: entry.holder,
        })
    }

    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        let mut state = self.state();
        let role = state.agent(agent)?.role;
        let entry = state.item(item)?;
        let needed = entry.pipeline[entry.stage];
        if needed != role {
            return Ok(ClaimOutcome::WrongRole { needed });
        }
        if entry.status != ItemStatus::Open {
            return Ok(ClaimOutcome::Conflict {
                holder: entry.holder,
            });
        }
        entry.status = ItemStatus::Claimed;
        entry.holder = Some(agent);
        let stage = entry.stage;
        state.touch(agent, now_ns)?;
        Ok(ClaimOutcome::Claimed { stage })
    }

    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        self.state().while_held(agent, item, now_ns, |entry| {
            entry.progress_percent = percent.min(100);
        })
    }

    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        let mut done = None;
        let outcome = self.state().while_held(agent, item, now_ns, |entry| {
            let next = entry.pipeline.get(entry.stage + 1).copied();
            entry.status = match next {
                Some(_) => ItemStatus::StageDone,
                None => ItemStatus::Done,
            };
            done = Some((entry.stage, next));
        })?;
        Ok(match (outcome, done) {
            (Ownership::Held, Some((stage, next))) => CompleteOutcome::Completed { stage, next },
            _ => CompleteOutcome::LeaseLost,
        })
    }

    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        self.state().while_held(agent, item, now_ns, |entry| {
            entry.status = ItemStatus::Open;
            entry.holder = None;
        })
    }

    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        let mut state = self.state();
        state.agent(agent)?;
        let entry = state.item(item)?;
        if entry.status != ItemStatus::StageDone || entry.holder != Some(agent) {
            return Ok(HandoffOutcome::Refused);
        }
        entry.stage += 1;
        entry.status = ItemStatus::Open;
        entry.holder = None;
        let (stage, role) = (entry.stage, entry.pipeline[entry.stage]);
        state.touch(agent, now_ns)?;
        Ok(HandoffOutcome::HandedOff { stage, role })
    }

    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        self.state().touch(agent, now_ns)
    }

    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        let mut guard = self.state();
        let State { agents, items, .. } = &mut *guard;
        let mut reaped = Vec::new();
        for (&id, item) in items.iter_mut() {
            // Only a held stage can lapse: a completed one is kept, whoever completed it.
            let (ItemStatus::Claimed, Some(holder)) = (item.status, item.holder) else {
                continue;
            };
            let last_seen = agents.get(&holder).map_or(0, |agent| agent.last_seen_ns);
            if now_ns.saturating_sub(last_seen) < self.lease_ns {
                continue;
            }
            item.status = ItemStatus::Open;
            item.holder = None;
            reaped.push(Reaped {
                item: id,
                previous_holder: holder,
                stage: item.stage,
            });
        }
        // A hash map's order changes from run to run; a seed must replay the same spans.
        reaped.sort_by_key(|r| r.item);
        Ok(reaped)
    }

    fn unfinished_items(&self) -> Result<Option<usize>> {
        let state = self.state();
        let open = state.items.values();
        Ok(Some(open.filter(|i| i.status != ItemStatus::Done).count()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn developer_item(ledger: &TinyLedger, pipeline: &[Role]) -> WorkId {
        let spec = WorkSpec {
            work_type: "feature".into(),
            team: TeamId(0),
            pipeline: pipeline.into(),
        };
        ledger.submit(spec, 0).expect("submit")
    }

    // Proves one claim wins, a second gets a conflict naming the winner, and another role is
    // told which role the stage needs.
    #[test]
    fn claims_are_exclusive_and_respect_roles() {
        let ledger = TinyLedger::new(100);
        let item = developer_item(&ledger, &[Role::Developer]);
        let a = ledger
            .register_agent(Role::Developer, TeamId(0), 0)
            .unwrap();
        let b = ledger
            .register_agent(Role::Developer, TeamId(0), 0)
            .unwrap();
        let tester = ledger.register_agent(Role::Tester, TeamId(0), 0).unwrap();
        assert!(a.0 < b.0, "ids follow creation order");
        assert_eq!(
            ledger.claim(a, item, 1).unwrap(),
            ClaimOutcome::Claimed { stage: 0 }
        );
        assert_eq!(
            ledger.claim(b, item, 2).unwrap(),
            ClaimOutcome::Conflict { holder: Some(a) }
        );
        assert_eq!(
            ledger.claim(tester, item, 2).unwrap(),
            ClaimOutcome::WrongRole {
                needed: Role::Developer
            }
        );
        assert_eq!(
            ledger.complete(b, item, 3).unwrap(),
            CompleteOutcome::LeaseLost
        );
    }

    // Proves a silent holder's claim is reopened, its late completion is refused, a completed
    // stage is never reaped, and only its completer can hand it on.
    #[test]
    fn leases_lapse_and_handoffs_need_the_completer() {
        let ledger = TinyLedger::new(100);
        let item = developer_item(&ledger, &[Role::Developer, Role::Tester]);
        let slow = ledger
            .register_agent(Role::Developer, TeamId(0), 0)
            .unwrap();
        let quick = ledger
            .register_agent(Role::Developer, TeamId(0), 0)
            .unwrap();
        ledger.claim(slow, item, 10).unwrap();
        assert_eq!(ledger.reap_expired(109).unwrap(), Vec::new());
        let reaped = ledger.reap_expired(110).unwrap();
        assert_eq!(reaped.len(), 1);
        assert_eq!(reaped[0].previous_holder, slow);
        assert_eq!(
            ledger.complete(slow, item, 111).unwrap(),
            CompleteOutcome::LeaseLost
        );
        ledger.claim(quick, item, 120).unwrap();
        assert_eq!(
            ledger.complete(quick, item, 130).unwrap(),
            CompleteOutcome::Completed {
                stage: 0,
                next: Some(Role::Tester)
            }
        );
        assert_eq!(ledger.reap_expired(10_000).unwrap(), Vec::new());
        assert_eq!(
            ledger.handoff(slow, item, 140).unwrap(),
            HandoffOutcome::Refused
        );
        assert_eq!(
            ledger.handoff(quick, item, 140).unwrap(),
            HandoffOutcome::HandedOff {
                stage: 1,
                role: Role::Tester
            }
        );
        assert_eq!(ledger.unfinished_items().unwrap(), Some(1));
    }
}
