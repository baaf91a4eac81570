//! Work an agent still owes after giving up on a call: items to release and handoffs to
//! finish, retried until the coordinator answers, so a live agent never keeps a lease on
//! work it abandoned.

use opentelemetry::KeyValue;

use super::{Agent, Stop, Unfinished};
use crate::coordination::{HandoffOutcome, Ownership};
use crate::ids::WorkId;
use crate::telemetry::OpKind;

impl Agent {
    /// Hands back items given up on, so others can finish them; one that still cannot be
    /// released stays on the list for the next round.
    pub(super) async fn release_abandoned(&mut self) -> Result<(), Stop> {
        for (item, stage, owed) in std::mem::take(&mut self.abandoned) {
            let settled = match owed {
                Unfinished::Release => self.release(item, stage).await,
                Unfinished::Handoff => self.hand_off(item, stage).await,
            };
            match settled {
                Ok(()) => {}
                Err(Stop::GaveUp) => self.abandoned.push((item, stage, owed)),
                Err(stop) => return Err(stop),
            }
        }
        Ok(())
    }

    pub(super) async fn release(&mut self, item: WorkId, stage: usize) -> Result<(), Stop> {
        let done = self
            .call(OpKind::Release, item, stage, |c, id, now| {
                c.release(id, item, now)
            })
            .await?;
        let attrs = self.item_attrs(item, stage, done.value.label(), done.attempt);
        self.record_item(item, OpKind::Release, &done, attrs);
        if done.value == Ownership::Held {
            self.shared.boards.board(self.plan.team, stage).push(item);
        }
        Ok(())
    }

    pub(super) fn note_abandoned(&mut self, stop: &Stop, item: WorkId, stage: usize) {
        if matches!(stop, Stop::GaveUp) {
            self.abandoned.push((item, stage, Unfinished::Release));
        }
    }

    pub(super) async fn hand_off(&mut self, item: WorkId, stage: usize) -> Result<(), Stop> {
        let done = self
            .call(OpKind::Handoff, item, stage, |c, id, now| {
                c.handoff(id, item, now)
            })
            .await?;
        let mut attrs = self.item_attrs(item, stage, "refused", done.attempt);
        if let HandoffOutcome::HandedOff { stage: next, role } = done.value {
            attrs = self.item_attrs(item, stage, "handed_off", done.attempt);
            if self.recorder.keeps_spans() {
                attrs.push(KeyValue::new("work.from_role", self.plan.role.as_str()));
                attrs.push(KeyValue::new("work.to_role", role.as_str()));
            }
            self.shared.boards.board(self.plan.team, next).push(item);
        }
        self.record_item(item, OpKind::Handoff, &done, attrs);
        Ok(())
    }
}
