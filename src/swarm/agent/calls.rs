//! One coordinator call as an agent makes it: through its circuit breaker, with retries
//! and backoff, every failed attempt recorded as an error span.

use opentelemetry::KeyValue;

use super::AgentPlan;
use super::{Agent, Stop, Timed};
use crate::coordination::breaker::Transition;
use crate::coordination::Coordinator;
use crate::error::Result;
use crate::ids::{AgentId, WorkId};
use crate::live::AgentState;
use crate::swarm::config::{Load, Mode};
use crate::swarm::shared::Shared;
use crate::telemetry::recorder::OpResult;
use crate::telemetry::OpKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

impl Agent {
    /// Open-loop load: waits for this call's slot in the agent's schedule and returns it
    /// (`None` under closed-loop load). The slot after it is one interval on, plus the
    /// simulated work the agent does before its next call, so the schedule is what the
    /// agent would do against a coordinator that answered at once.
    async fn pace(&mut self) -> Option<u64> {
        let Load::Open { interval } = self.shared.config.load else {
            return None;
        };
        let intended = self.next_intended_ns + std::mem::take(&mut self.work_since_call_ns);
        self.next_intended_ns = intended + interval.as_nanos() as u64;
        if intended > self.now() {
            self.shared.clock.sleep_until(intended).await;
        }
        Some(intended)
    }

    /// A call that reaches a stalled coordinator is held until the stall ends, or until
    /// the caller's timeout (`timeout_at`) if that comes first; says whether it timed out.
    async fn wait_out_stall(&mut self, timeout_at: Option<u64>) -> bool {
        let Some(stall) = self.shared.config.faults.stall else {
            return false;
        };
        let start_ns = stall.start.as_nanos() as u64;
        let end_ns = start_ns + stall.length.as_nanos() as u64;
        let now = self.now();
        if !(start_ns..end_ns).contains(&now) {
            return false;
        }
        match timeout_at {
            Some(at) if at < end_ns => {
                self.shared.clock.sleep_until(at).await;
                true
            }
            _ => {
                self.shared.clock.sleep_until(end_ns).await;
                false
            }
        }
    }

    /// The simulated service time of a call started at `start_ns`, cut short at
    /// `timeout_at`; says whether it timed out.
    async fn serve_simulated(&mut self, start_ns: u64, timeout_at: Option<u64>) -> bool {
        if std::mem::take(&mut self.burst_first_call) {
            self.shared.clock.yield_now().await;
            return false;
        }
        let mean = self
            .shared
            .config
            .delays
            .service_time_mean
            .mul_f64(self.plan.slow_factor);
        let served_at = start_ns + exponential_ns(&mut self.rng, mean);
        match timeout_at {
            Some(at) if served_at > at => {
                self.shared.clock.sleep_until(at).await;
                true
            }
            _ => {
                self.shared.clock.sleep_until(served_at).await;
                false
            }
        }
    }

    /// Shows `state` to a live view, if one watches: one relaxed byte store, and nothing at
    /// all when none does.
    pub(super) fn mark(&mut self, state: AgentState) {
        if let Some(live) = &self.shared.live {
            self.shown = state;
            live.set(self.plan.index, state);
        }
    }

    /// Waits until `until` (a backoff), shown to a live view as backing off.
    async fn back_off_until(&mut self, until: u64) {
        let before = self.shown;
        self.mark(AgentState::BackingOff);
        self.shared.clock.sleep_until(until).await;
        self.mark(before);
    }

    /// After a lost claim, waits the configured conflict backoff (if any), so a crowd that
    /// lost one race does not stampede the next item at once.
    pub(super) async fn back_off_after_conflict(&mut self) {
        let wait = self.shared.config.conflict_backoff;
        if wait.is_zero() {
            return;
        }
        let until = self.now() + wait.as_nanos() as u64;
        self.back_off_until(until).await;
        // Waiting by choice is nobody's latency: the open-loop schedule resumes from now.
        self.next_intended_ns = self.next_intended_ns.max(self.now());
    }

    pub(super) fn record_transition(&mut self, transition: Option<Transition>) {
        if let Some(Transition { from, to }) = transition {
            let now = self.now();
            let attrs = vec![
                KeyValue::new("circuit.from", from.as_str()),
                KeyValue::new("circuit.to", to.as_str()),
            ];
            self.recorder
                .event("circuit.transition", now, now, attrs, OpResult::Served);
        }
    }

    /// One coordinator call through the breaker, retried with backoff; failed attempts are
    /// recorded here, the successful one by the caller (who knows its outcome).
    pub(super) async fn call<T>(
        &mut self,
        op: OpKind,
        item: WorkId,
        stage: usize,
        mut call: impl FnMut(&dyn Coordinator, AgentId, u64) -> Result<T>,
    ) -> Result<Timed<T>, Stop> {
        let mut attempt = 0;
        let intended_ns = self.pace().await;
        loop {
            // One clock reading serves the stop check, the breaker and the call's start:
            // nothing awaits between them, so they would read the same instant anyway (on
            // the real clock, reading it costs as much as an engine call).
            let start_ns = self.now();
            if let Some(stop) = self.check_stop_at(start_ns) {
                return Err(stop);
            }
            let (permitted, transition) = self.breaker.permit(start_ns);
            self.record_transition(transition);
            if !permitted {
                if let Some(at) = self.breaker.reopens_at_ns() {
                    self.back_off_until(at).await;
                }
                continue;
            }
            let timeout_at = self
                .shared
                .config
                .call_timeout
                .map(|timeout| start_ns.saturating_add(timeout.as_nanos() as u64));
            let (served_ns, timed_out) = match self.shared.config.mode {
                // The simulated service time passes before the engine sees the call.
                Mode::Deterministic => {
                    let timed_out = self.serve_simulated(start_ns, timeout_at).await
                        || self.wait_out_stall(timeout_at).await;
                    (Some(self.now()), timed_out)
                }
                Mode::Throughput => (None, self.wait_out_stall(timeout_at).await),
            };
            // Only the first attempt had a slot in the schedule; a retry's own backoff is
            // the agent's choice, timed from when it really started.
            let origin_ns = match intended_ns {
                Some(intended) if attempt == 0 => intended.min(start_ns),
                _ => start_ns,
            };
            let reported_ns = served_ns
                .unwrap_or(start_ns)
                .saturating_add_signed(self.plan.clock_skew_ns);
            // A call the agent stopped waiting for never reached the engine here, but the
            // agent cannot know that: it is an indefinite failure, retried like any other.
            let result = if timed_out {
                Err(crate::error::Error::Indefinite(format!(
                    "no answer within the {:?} call timeout",
                    self.shared.config.call_timeout.unwrap_or_default()
                )))
            } else {
                call(self.shared.coordinator.as_ref(), self.id, reported_ns)
            };
            // On the real clock, read after the call, so the span includes it; on the paused
            // clock a synchronous call takes no virtual time, so the time it was served is
            // its end (tokio's clock costs as much to read as the real one).
            let end_ns = served_ns.unwrap_or_else(|| self.now());
            debug_assert!(served_ns.is_none_or(|served| served == self.now()));
            match result {
                Ok(value) => {
                    let transition = self.breaker.on_success();
                    self.record_transition(transition);
                    self.last_contact_ns = end_ns;
                    return Ok(Timed {
                        origin_ns,
                        start_ns,
                        end_ns,
                        attempt,
                        value,
                    });
                }
                Err(error) => {
                    let mut attrs = self.item_attrs(item, stage, "error", attempt);
                    // A call that may have applied (a timeout, a child killed with it in
                    // flight) is "maybe" to the history checks, never proof of nothing.
                    if !error.is_definite() {
                        attrs.push(KeyValue::new("error.definite", false));
                    }
                    let description = error.to_string();
                    let failed = OpResult::Failed(&description);
                    // A heartbeat keeps the agent's leases, not one item's: it stays in the
                    // session's trace, as when it is served.
                    if op == OpKind::Heartbeat {
                        self.recorder
                            .op_since(op, origin_ns, start_ns, end_ns, attrs, failed);
                    } else {
                        let root = self.shared.item_root(item);
                        self.recorder
                            .item_op_since(root, op, origin_ns, start_ns, end_ns, attrs, failed);
                    }
                    let transition = self.breaker.on_failure(end_ns);
                    self.record_transition(transition);
                    let retry = self.shared.config.retry;
                    let Some(delay) = retry.delay(attempt, &mut self.rng) else {
                        return Err(Stop::GaveUp);
                    };
                    let until = self.now() + delay.as_nanos() as u64;
                    self.back_off_until(until).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Registers the agent, retrying a refused registration with the run's backoff (a system
/// being restarted refuses calls for a moment); the last refusal ends the run with its error.
pub(super) async fn register(
    shared: &Shared,
    plan: &AgentPlan,
    rng: &mut ChaCha8Rng,
) -> Result<AgentId> {
    let mut attempt = 0;
    loop {
        let now = shared.clock.now_ns();
        match shared.coordinator.register_agent(plan.role, plan.team, now) {
            Ok(id) => return Ok(id),
            Err(error) => match shared.config.retry.delay(attempt, rng) {
                Some(delay) => {
                    let until = shared.clock.now_ns() + delay.as_nanos() as u64;
                    shared.clock.sleep_until(until).await;
                    attempt += 1;
                }
                None => return Err(error),
            },
        }
    }
}

/// Sleeps a simulated service time counted from `from_ns` (deterministic mode only).
pub(super) async fn sleep_service(
    shared: &Shared,
    rng: &mut ChaCha8Rng,
    slow_factor: f64,
    from_ns: u64,
) {
    if shared.config.mode == Mode::Deterministic {
        let mean = shared.config.delays.service_time_mean.mul_f64(slow_factor);
        let delay_ns = exponential_ns(rng, mean);
        shared.clock.sleep_until(from_ns + delay_ns).await;
    }
}

/// A draw from the exponential distribution of mean `mean`, in ns.
pub(super) fn exponential_ns(rng: &mut ChaCha8Rng, mean: Duration) -> u64 {
    // Inverse-transform sampling; 1 - u avoids ln(0).
    let u: f64 = rng.gen();
    (-(1.0 - u).ln() * mean.as_nanos() as f64) as u64
}
