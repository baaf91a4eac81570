//! Settling a retried call whose earlier attempt may have applied.
//!
//! A call can commit on the server and still fail at the agent (the connection broke while
//! the commit's answer was on its way; the server crashed right after the commit). The
//! retry then meets the agent's own write: a claim finds the item held by this agent, a
//! completion finds it no longer claimed. Taken at face value, a completed item would be
//! counted lost and a won claim would sit idle until the reaper reopened it. A real client
//! settles the doubt by reading; so does the agent. Only a retry (attempt > 0) is settled
//! this way: a first attempt that meets its own write is the system's answer to judge.

use super::Agent;
use crate::coordination::{ClaimOutcome, CompleteOutcome, ItemStatus};
use crate::ids::WorkId;

impl Agent {
    /// A retried claim answered "held by you" means an earlier attempt won.
    pub(super) fn settle_retried_claim(
        &self,
        stage: usize,
        answer: ClaimOutcome,
        attempt: u32,
    ) -> (ClaimOutcome, bool) {
        match answer {
            ClaimOutcome::Conflict {
                holder: Some(holder),
            } if attempt > 0 && holder == self.id => (ClaimOutcome::Claimed { stage }, true),
            other => (other, false),
        }
    }

    /// A retried completion answered "lease lost" is read back: the item at this stage,
    /// finished and still naming this agent as holder, was completed by an earlier attempt.
    pub(super) fn settle_retried_completion(
        &self,
        item: WorkId,
        stage: usize,
        answer: CompleteOutcome,
        attempt: u32,
    ) -> (CompleteOutcome, bool) {
        if attempt == 0 || answer != CompleteOutcome::LeaseLost {
            return (answer, false);
        }
        let Ok(view) = self.shared.coordinator.peek(item) else {
            return (answer, false);
        };
        if view.stage != stage || view.holder != Some(self.id) {
            return (answer, false);
        }
        match view.status {
            ItemStatus::Done => (CompleteOutcome::Completed { stage, next: None }, true),
            ItemStatus::StageDone => match self.shared.pipeline.get(stage + 1) {
                Some(&next) => (
                    CompleteOutcome::Completed {
                        stage,
                        next: Some(next),
                    },
                    true,
                ),
                None => (answer, false),
            },
            ItemStatus::Open | ItemStatus::Claimed => (answer, false),
        }
    }
}
