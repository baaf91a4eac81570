//! The system under test: the `Coordinator` trait, and around it the client-side policies a
//! well-behaved agent uses (retry with backoff, circuit breaker, least-loaded balancing).

/// Least-loaded assignment of new work to teams/pools.
pub mod balancer;
/// Closed → open → half-open circuit breaker, driven by the caller's clock.
pub mod breaker;
/// A wrapper that injects faults: outages, partitions of one team, errors at a seeded rate.
pub mod faulty;
/// Insert-only identifier → position map read without locks (the engine's lookups).
pub mod index;
/// The reference in-memory engine: one compare-and-swap per item on the claim path.
pub mod memory;
/// Planted engine defects (`Mutant`) the suite must kill, and the engine's `Discipline`.
pub mod mutant;
/// Exponential backoff with jitter and a bounded number of retries.
pub mod retry;
/// Roles, teams and the vocabulary types the trait speaks.
pub mod types;

pub use memory::MemoryCoordinator;
pub use mutant::{Discipline, Mutant};
pub use types::*;

use crate::error::Result;
use crate::ids::{AgentId, WorkId};

/// What an agent swarm needs from a coordination system.
///
/// Every call names the caller's current time (`now_ns`, nanoseconds since the run began) so
/// that an engine never reads a clock itself: in deterministic mode time is virtual, and the
/// same seed must give the same leases. A lost race is an outcome, not an error; errors are
/// reserved for calls the coordinator could not serve.
pub trait Coordinator: Send + Sync {
    /// Registers an agent and returns its new unique identity.
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId>;
    /// Submits a work item that will pass through `pipeline`'s roles in order.
    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId>;
    /// Reads an item's current state without changing it (what an agent sees on the board).
    fn peek(&self, item: WorkId) -> Result<ItemView>;
    /// Tries to take an open item at its current stage; exactly one caller can win.
    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome>;
    /// Records progress (0–100) on an item the agent holds.
    fn progress(&self, agent: AgentId, item: WorkId, percent: u8, now_ns: u64)
        -> Result<Ownership>;
    /// Finishes the agent's stage of an item it holds.
    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome>;
    /// Gives an item back unfinished, so another agent may claim it.
    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership>;
    /// Moves an item whose stage the agent completed on to the next role's stage.
    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome>;
    /// Tells the coordinator the agent is alive, extending the lease on everything it holds.
    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()>;
    /// Reopens every item whose holder has not been heard from within the lease duration.
    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>>;
    /// How many items are not yet through their last stage, if the engine can count them
    /// in one read. Runs attached to state other processes also change (`Swarm::attached`)
    /// need it to know when the whole job is done; `None` means the engine cannot say.
    fn unfinished_items(&self) -> Result<Option<usize>> {
        Ok(None)
    }
}

/// A shared coordinator is a coordinator: lets the fault wrapper (`Faulty`) sit in front of
/// any system under test, whoever built it.
impl<C: Coordinator + ?Sized> Coordinator for std::sync::Arc<C> {
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId> {
        (**self).register_agent(role, team, now_ns)
    }
    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        (**self).submit(spec, now_ns)
    }
    fn peek(&self, item: WorkId) -> Result<ItemView> {
        (**self).peek(item)
    }
    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        (**self).claim(agent, item, now_ns)
    }
    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        (**self).progress(agent, item, percent, now_ns)
    }
    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        (**self).complete(agent, item, now_ns)
    }
    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        (**self).release(agent, item, now_ns)
    }
    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        (**self).handoff(agent, item, now_ns)
    }
    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        (**self).heartbeat(agent, now_ns)
    }
    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        (**self).reap_expired(now_ns)
    }
    fn unfinished_items(&self) -> Result<Option<usize>> {
        (**self).unfinished_items()
    }
}
