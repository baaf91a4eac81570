//! A coordinator wrapper that refuses every call inside an outage window of simulated time.
//!
//! It sits between the swarm and the engine, so retries, backoff and the circuit breaker can
//! be exercised against the real engine without changing it.

use super::types::*;
use super::Coordinator;
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};

/// A window of simulated time, in nanoseconds since the run began, during which calls fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// First failing instant.
    pub start_ns: u64,
    /// First instant after the outage.
    pub end_ns: u64,
}

/// Wraps `inner`, failing calls during `outage`.
#[derive(Debug)]
pub struct WithOutage<C> {
    inner: C,
    outage: Outage,
}

impl<C> WithOutage<C> {
    /// Wraps a coordinator.
    pub fn new(inner: C, outage: Outage) -> Self {
        Self { inner, outage }
    }

    fn gate(&self, now_ns: u64) -> Result<()> {
        if (self.outage.start_ns..self.outage.end_ns).contains(&now_ns) {
            return Err(Error::Unavailable("injected outage".into()));
        }
        Ok(())
    }
}

impl<C: Coordinator> Coordinator for WithOutage<C> {
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId> {
        self.inner.register_agent(role, team, now_ns)
    }
    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        self.inner.submit(spec, now_ns)
    }
    fn peek(&self, item: WorkId) -> Result<ItemView> {
        self.inner.peek(item)
    }
    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        self.gate(now_ns)?;
        self.inner.claim(agent, item, now_ns)
    }
    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        self.gate(now_ns)?;
        self.inner.progress(agent, item, percent, now_ns)
    }
    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        self.gate(now_ns)?;
        self.inner.complete(agent, item, now_ns)
    }
    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        self.gate(now_ns)?;
        self.inner.release(agent, item, now_ns)
    }
    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        self.gate(now_ns)?;
        self.inner.handoff(agent, item, now_ns)
    }
    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        self.gate(now_ns)?;
        self.inner.heartbeat(agent, now_ns)
    }
    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        // The reaper is the coordinator's own housekeeping; an outage of the client-facing
        // API does not stop it, but it must not reap agents that could not reach it either.
        if (self.outage.start_ns..self.outage.end_ns).contains(&now_ns) {
            return Ok(Vec::new());
        }
        self.inner.reap_expired(now_ns)
    }
}
