//! A coordinator wrapper that injects faults: outage windows (for everyone, or for one team
//! cut off by a partition) and errors at a seeded rate.
//!
//! It sits between the swarm and the engine, so retries, backoff and the circuit breaker are
//! exercised against the real engine without changing it. Registration and peeking are never
//! refused (agents must exist, and reading the board is local in the systems we model).

use std::sync::Mutex;

use dashmap::DashMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::types::*;
use super::Coordinator;
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};

/// A window of run-relative time, in nanoseconds, during which calls fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// First failing instant.
    pub start_ns: u64,
    /// First instant after the outage.
    pub end_ns: u64,
    /// Only this team's agents are cut off (a partition); `None`: everyone.
    pub team: Option<TeamId>,
}

impl Outage {
    fn covers(&self, now_ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&now_ns)
    }
}

/// What to inject.
#[derive(Debug, Clone, Default)]
pub struct FaultSchedule {
    /// Outage and partition windows.
    pub outages: Vec<Outage>,
    /// Share of calls (0–1) that fail at random, outside any outage.
    pub error_rate: f64,
    /// Share of calls (0–1) that apply and then fail with an indefinite error: the answer
    /// lost on its way back, as when a connection breaks during COMMIT.
    pub lost_answer_rate: f64,
    /// Seed of the random failures.
    pub seed: u64,
}

/// Wraps `inner`, failing calls as `schedule` says.
#[derive(Debug)]
pub struct Faulty<C> {
    inner: C,
    schedule: FaultSchedule,
    teams: DashMap<AgentId, TeamId>,
    /// One stream for the whole coordinator: in deterministic mode calls arrive in a fixed
    /// order, so the same seed fails the same calls.
    rng: Mutex<ChaCha8Rng>,
}

impl<C> Faulty<C> {
    /// Wraps a coordinator.
    pub fn new(inner: C, schedule: FaultSchedule) -> Self {
        let rng = Mutex::new(ChaCha8Rng::seed_from_u64(schedule.seed ^ 0xFA17));
        Self {
            inner,
            schedule,
            teams: DashMap::new(),
            rng,
        }
    }

    fn gate(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        let team = self.teams.get(&agent).map(|t| *t);
        for outage in &self.schedule.outages {
            if outage.covers(now_ns) && (outage.team.is_none() || outage.team == team) {
                let what = if outage.team.is_some() {
                    "partition"
                } else {
                    "outage"
                };
                return Err(Error::Unavailable(format!("injected {what}")));
            }
        }
        // No draw at a zero rate: the stream stays where a run without errors leaves it.
        if self.schedule.error_rate > 0.0 && self.draw() < self.schedule.error_rate {
            return Err(Error::Unavailable("injected error".into()));
        }
        Ok(())
    }

    /// The next draw of the seeded stream, in [0, 1).
    fn draw(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .gen()
    }

    /// Passes an applied call's answer on, or loses it at the schedule's rate. A refused
    /// call applied nothing, so its error is passed on as it is.
    fn deliver<T>(&self, answer: Result<T>) -> Result<T> {
        if answer.is_err() || self.schedule.lost_answer_rate <= 0.0 {
            return answer;
        }
        if self.draw() < self.schedule.lost_answer_rate {
            return Err(Error::Indefinite(
                "injected lost answer: the call applied, its answer never arrived".into(),
            ));
        }
        answer
    }
}

impl<C: Coordinator> Coordinator for Faulty<C> {
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId> {
        let id = self.inner.register_agent(role, team, now_ns)?;
        self.teams.insert(id, team);
        Ok(id)
    }
    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        self.inner.submit(spec, now_ns)
    }
    fn peek(&self, item: WorkId) -> Result<ItemView> {
        self.inner.peek(item)
    }
    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        self.gate(agent, now_ns)?;
        self.deliver(self.inner.claim(agent, item, now_ns))
    }
    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        self.gate(agent, now_ns)?;
        self.deliver(self.inner.progress(agent, item, percent, now_ns))
    }
    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        self.gate(agent, now_ns)?;
        self.deliver(self.inner.complete(agent, item, now_ns))
    }
    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        self.gate(agent, now_ns)?;
        self.deliver(self.inner.release(agent, item, now_ns))
    }
    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        self.gate(agent, now_ns)?;
        self.deliver(self.inner.handoff(agent, item, now_ns))
    }
    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        self.gate(agent, now_ns)?;
        self.deliver(self.inner.heartbeat(agent, now_ns))
    }
    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        // The reaper is the coordinator's own housekeeping: faults of the client-facing API
        // do not stop it, except a full outage, during which it is down too.
        if self
            .schedule
            .outages
            .iter()
            .any(|o| o.team.is_none() && o.covers(now_ns))
        {
            return Ok(Vec::new());
        }
        self.inner.reap_expired(now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordination::{Discipline, MemoryCoordinator};

    // Proves a partition cuts off only its team, and only inside its window.
    #[test]
    fn partition_cuts_off_one_team() {
        let schedule = FaultSchedule {
            outages: vec![Outage {
                start_ns: 10,
                end_ns: 20,
                team: Some(TeamId(1)),
            }],
            ..FaultSchedule::default()
        };
        let faulty = Faulty::new(
            MemoryCoordinator::new(0, 1_000, Discipline::Correct),
            schedule,
        );
        let inside = faulty
            .register_agent(Role::Developer, TeamId(1), 0)
            .unwrap();
        let outside = faulty
            .register_agent(Role::Developer, TeamId(0), 0)
            .unwrap();
        assert!(faulty.heartbeat(inside, 15).is_err());
        assert!(faulty.heartbeat(outside, 15).is_ok());
        assert!(faulty.heartbeat(inside, 20).is_ok());
    }

    // Proves the error rate fails roughly that share of calls, reproducibly for a seed.
    #[test]
    fn error_rate_is_seeded() {
        let failures = |seed| {
            let schedule = FaultSchedule {
                error_rate: 0.25,
                seed,
                ..FaultSchedule::default()
            };
            let faulty = Faulty::new(
                MemoryCoordinator::new(0, 1_000, Discipline::Correct),
                schedule,
            );
            let agent = faulty
                .register_agent(Role::Developer, TeamId(0), 0)
                .unwrap();
            (0..1_000)
                .filter(|&t| faulty.heartbeat(agent, t).is_err())
                .count()
        };
        assert_eq!(failures(1), failures(1));
        assert!((150..350).contains(&failures(1)), "{}", failures(1));
    }
}
