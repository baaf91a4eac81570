//! One agent's life: register, find open work, claim it, report progress, complete it, hand
//! it on; retry failed calls with backoff behind a circuit breaker; crash when told to.
//!
//! Every coordinator call leaves a span, including failed attempts, so the evidence shows
//! what the agent did, not what it believed.

/// Retried, breaker-guarded coordinator calls.
mod calls;
/// Releases and handoffs owed after giving up.
mod pending;
/// Finding work on the boards, and publishing finished items.
mod pick;
/// Settling a retried call whose earlier attempt may have applied.
mod resolve;
/// The spans of served calls: in the session's trace or the item's, with item attributes.
mod spans;

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::Mode;
use super::shared::Shared;
use crate::coordination::breaker::CircuitBreaker;
use crate::coordination::{ClaimOutcome, CompleteOutcome, Ownership, Role, TeamId};
use crate::error::Result;
use crate::ids::{AgentId, WorkId};
use crate::live::AgentState;
use crate::telemetry::recorder::OpResult;
use crate::telemetry::{AgentRecorder, OpKind};
use calls::{exponential_ns, sleep_service};

/// How long an agent with nothing to do waits before looking again, in throughput mode.
const IDLE_WAIT_REAL: Duration = Duration::from_millis(1);
/// In throughput mode an agent yields to the scheduler once per this many items it looked
/// at: often enough that every agent gets turns, rarely enough that rescheduling does not
/// cost more than the claims themselves.
const YIELD_EVERY_ITEMS: u32 = 16;
/// Simulated idle wait, as a multiple of the mean service time.
const IDLE_WAIT_SERVICE_TIMES: u32 = 5;

/// Who an agent is before it starts.
#[derive(Debug, Clone, Copy)]
pub struct AgentPlan {
    /// Position in the swarm (also seeds the agent's random stream).
    pub index: usize,
    /// Its role.
    pub role: Role,
    /// Its team.
    pub team: TeamId,
    /// When it crashes, if it does.
    pub crash_at_ns: Option<u64>,
    /// Its simulated delays are this many times the model's (1 for a healthy agent).
    pub slow_factor: f64,
    /// Its clock's offset from true time, in ns: added to every time it reports.
    pub clock_skew_ns: i64,
}

/// What an agent reports when it stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentReport {
    /// It crashed (by fault injection).
    pub crashed: bool,
    /// It stopped at the run's deadline.
    pub hit_deadline: bool,
}

/// Why an agent's current activity stopped early.
enum Stop {
    Crashed,
    Deadline,
    /// Retries of one call ran out; the agent moves on.
    GaveUp,
}

/// What an agent still owes on an item it gave up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unfinished {
    /// Held mid-stage: release it.
    Release,
    /// Stage completed, handoff not acknowledged: hand it off.
    Handoff,
}

/// A call's value and when it ran.
struct Timed<T> {
    /// When the call was meant to start: its start under closed-loop load, its slot in the
    /// agent's schedule under open-loop load (never after `start_ns`).
    origin_ns: u64,
    start_ns: u64,
    end_ns: u64,
    attempt: u32,
    value: T,
}

struct Agent {
    shared: Arc<Shared>,
    plan: AgentPlan,
    id: AgentId,
    recorder: AgentRecorder,
    rng: ChaCha8Rng,
    breaker: CircuitBreaker,
    /// The pipeline stages this agent's role works on.
    stages: Vec<usize>,
    /// Private scan position per stage board (high-contention mode).
    cursors: Vec<usize>,
    /// Board entries reserved for this agent and not yet looked at, per stage (spread mode).
    reserved: Vec<Range<usize>>,
    /// Items this agent finished that the shared counters do not show yet.
    finished_unpublished: usize,
    /// Items this agent still holds but gave up on (the coordinator kept failing): its
    /// heartbeats would keep their leases alive, so it must hand them back explicitly.
    abandoned: Vec<(WorkId, usize, Unfinished)>,
    last_contact_ns: u64,
    /// When simulated work drawn by `work_for` ends; 0 when none is owed.
    work_until_ns: u64,
    /// The text of the item last named in a span: an item's claim, progress, complete and
    /// handoff spans share one formatted id instead of formatting it each time.
    item_text: Option<(WorkId, opentelemetry::StringValue)>,
    /// Open-loop load: the intended start of this agent's next call, before the simulated
    /// work that precedes it (`work_since_call_ns`).
    next_intended_ns: u64,
    /// Simulated work drawn since the last call, which pushes the next intended start.
    work_since_call_ns: u64,
    /// The state a live view last saw stored (`mark`).
    shown: AgentState,
    /// A burst start: the first call skips its simulated service time.
    burst_first_call: bool,
}

/// Runs one agent to the end of the run (or its crash) and reports how it stopped.
pub async fn run(shared: Arc<Shared>, plan: AgentPlan) -> Result<AgentReport> {
    let seed = shared.config.seed ^ (plan.index as u64).wrapping_mul(0xA076_1D64_78BD_642F);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start_ns = shared.clock.now_ns();
    if !shared.config.burst_start {
        sleep_service(&shared, &mut rng, plan.slow_factor, start_ns).await;
    }
    let id = calls::register(&shared, &plan, &mut rng).await?;
    // Read after the call, so the span brackets the moment the id was issued.
    let registered_ns = shared.clock.now_ns();
    let identity = vec![
        KeyValue::new("agent.id", id.to_string()),
        KeyValue::new("agent.role", plan.role.as_str()),
        KeyValue::new("agent.team", plan.team.to_string()),
    ];
    let mut recorder = AgentRecorder::open_under(
        Arc::clone(&shared.capture),
        shared.time_base,
        "agent.session",
        identity,
        start_ns,
        shared.run_span,
    );
    recorder.op(
        OpKind::Register,
        start_ns,
        registered_ns,
        Vec::new(),
        OpResult::Served,
    );
    let shared_burst = shared.config.burst_start;
    let stages: Vec<usize> = (0..shared.pipeline.len())
        .filter(|&stage| shared.pipeline[stage] == plan.role)
        .collect();
    let mut agent = Agent {
        cursors: vec![0; stages.len()],
        reserved: vec![0..0; stages.len()],
        finished_unpublished: 0,
        abandoned: Vec::new(),
        stages,
        breaker: CircuitBreaker::new(shared.config.breaker),
        shared,
        plan,
        id,
        recorder,
        rng,
        last_contact_ns: registered_ns,
        work_until_ns: 0,
        item_text: None,
        next_intended_ns: registered_ns,
        work_since_call_ns: 0,
        shown: AgentState::Starting,
        burst_first_call: shared_burst,
    };
    agent.mark(AgentState::Idle);
    let stopped = agent.work_until_done().await;
    agent.publish_finished();
    // Work still owed (a stop found mid-work) passes before the agent's last spans.
    let owed_ns = agent.work_until_ns;
    if owed_ns > agent.shared.clock.now_ns() {
        agent.shared.clock.sleep_until(owed_ns).await;
    }
    let end_ns = agent.shared.clock.now_ns();
    let crashed = matches!(stopped, Some(Stop::Crashed));
    agent.mark(if crashed {
        AgentState::Crashed
    } else {
        AgentState::Stopped
    });
    let report = match stopped {
        Some(Stop::Crashed) => {
            agent
                .recorder
                .event("agent.crash", end_ns, end_ns, Vec::new(), OpResult::Served);
            AgentReport {
                crashed: true,
                hit_deadline: false,
            }
        }
        Some(Stop::Deadline) => AgentReport {
            crashed: false,
            hit_deadline: true,
        },
        Some(Stop::GaveUp) | None => AgentReport::default(),
    };
    agent.recorder.close(end_ns);
    Ok(report)
}

impl Agent {
    /// The agent's time: the run clock, or the end of simulated work it has not slept
    /// through yet (see `work_for`).
    fn now(&self) -> u64 {
        self.shared.clock.now_ns().max(self.work_until_ns)
    }

    fn check_stop(&self) -> Option<Stop> {
        self.check_stop_at(self.now())
    }

    fn check_stop_at(&self, now: u64) -> Option<Stop> {
        if self.plan.crash_at_ns.is_some_and(|at| now >= at) {
            return Some(Stop::Crashed);
        }
        (now >= self.shared.deadline_ns).then_some(Stop::Deadline)
    }

    /// Works until no item is left, returning why it stopped early if it did.
    async fn work_until_done(&mut self) -> Option<Stop> {
        let mut since_yield = 0;
        loop {
            if let Some(stop) = self.check_stop() {
                return Some(stop);
            }
            if self.shared.remaining.load(Ordering::Acquire) == 0 {
                return None;
            }
            if let Err(stop) = self.release_abandoned().await {
                return Some(stop);
            }
            match self.next_candidate() {
                Some((item, stage)) => match self.work_on(item, stage).await {
                    Err(Stop::GaveUp) | Ok(()) => {}
                    Err(stop) => return Some(stop),
                },
                None => {
                    // Nothing to do: show what this agent finished, then see if that was all.
                    self.publish_finished();
                    if self.shared.remaining.load(Ordering::Acquire) == 0 {
                        return None;
                    }
                    self.idle().await;
                }
            }
            since_yield += 1;
            if self.shared.config.mode == Mode::Throughput && since_yield >= YIELD_EVERY_ITEMS {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
        }
    }

    async fn idle(&mut self) {
        match self.shared.config.mode {
            Mode::Deterministic => {
                let wait = self.shared.config.delays.service_time_mean * IDLE_WAIT_SERVICE_TIMES;
                let until = self.now() + wait.as_nanos().max(1) as u64;
                self.shared.clock.sleep_until(until).await;
            }
            Mode::Throughput => tokio::time::sleep(IDLE_WAIT_REAL).await,
        }
        // Time spent idle is nobody's latency: the open-loop schedule resumes from now.
        self.next_intended_ns = self.next_intended_ns.max(self.now());
    }

    /// Simulated work (deterministic mode): the time is drawn now but not slept here. The
    /// agent's next call starts with a service-time sleep anyway, counted from `now()`,
    /// which includes the work, so one timer covers both. Nothing this agent does in between
    /// is seen by others (stop and breaker checks, its own heartbeat due time), and every
    /// wait takes `now()` as its start; a run of tokio timers costs more than the events.
    fn work_for(&mut self, share_of_stage: f64) {
        if self.shared.config.mode == Mode::Deterministic {
            let mean = self
                .shared
                .config
                .delays
                .work_time_mean
                .mul_f64(share_of_stage);
            let delay_ns = exponential_ns(&mut self.rng, mean);
            // Work follows a successful call with no wait in between, so it starts where
            // that call ended, on a clock that has not moved since.
            debug_assert_eq!(self.last_contact_ns, self.now());
            self.work_until_ns = self.last_contact_ns + delay_ns;
            self.work_since_call_ns += delay_ns;
        }
    }

    async fn heartbeat_if_due(&mut self, item: WorkId, stage: usize) -> Result<(), Stop> {
        let interval_ns = self.shared.config.lease_duration.as_nanos() as u64 / 3;
        // On the real clock nothing but this agent's own bookkeeping ran since its last
        // call ended, so that call's end stands for now without another clock reading.
        let now = match self.shared.config.mode {
            Mode::Deterministic => self.now(),
            Mode::Throughput => self.last_contact_ns,
        };
        if now.saturating_sub(self.last_contact_ns) < interval_ns
            || !self.shared.capabilities.heartbeat
        {
            return Ok(());
        }
        let done = self
            .call(OpKind::Heartbeat, item, stage, |c, id, now| {
                c.heartbeat(id, now)
            })
            .await?;
        self.record(OpKind::Heartbeat, &done, Vec::new());
        Ok(())
    }

    /// Claims `item` at `stage` and, if it wins, carries the stage through to completion.
    async fn work_on(&mut self, item: WorkId, stage: usize) -> Result<(), Stop> {
        let mut claim = match self
            .call(OpKind::Claim, item, stage, |c, id, now| {
                c.claim(id, item, now)
            })
            .await
        {
            Ok(claim) => claim,
            Err(Stop::GaveUp) => {
                // Still open: put it back so another attempt (ours or another's) finds it.
                self.shared.boards.board(self.plan.team, stage).push(item);
                return Err(Stop::GaveUp);
            }
            Err(stop) => return Err(stop),
        };
        let settled;
        (claim.value, settled) = self.settle_retried_claim(stage, claim.value, claim.attempt);
        let mut attrs = self.item_attrs(item, stage, claim.value.label(), claim.attempt);
        if settled {
            attrs.push(KeyValue::new("work.settled_by_read", true));
        }
        if let (
            true,
            ClaimOutcome::Conflict {
                holder: Some(holder),
            },
        ) = (self.recorder.keeps_spans(), claim.value)
        {
            attrs.push(KeyValue::new("work.holder", holder.to_string()));
        }
        self.record_item(item, OpKind::Claim, &claim, attrs);
        if !matches!(claim.value, ClaimOutcome::Claimed { .. }) {
            if matches!(claim.value, ClaimOutcome::Conflict { .. }) {
                self.back_off_after_conflict().await;
            }
            return Ok(());
        }
        self.mark(AgentState::Holding);
        let reports = u32::from(self.shared.config.progress_reports);
        let share = 1.0 / f64::from(reports + 1);
        for report in 1..=reports {
            self.work_for(share);
            self.heartbeat_if_due(item, stage)
                .await
                .inspect_err(|stop| self.note_abandoned(stop, item, stage))?;
            let percent = (report * 100 / (reports + 1)) as u8;
            let done = self
                .call(OpKind::Progress, item, stage, |c, id, now| {
                    c.progress(id, item, percent, now)
                })
                .await?;
            let mut attrs = self.item_attrs(item, stage, done.value.label(), done.attempt);
            if self.recorder.keeps_spans() {
                attrs.push(KeyValue::new("work.progress", i64::from(percent)));
            }
            self.record_item(item, OpKind::Progress, &done, attrs);
            if done.value == Ownership::LeaseLost {
                return Ok(());
            }
        }
        self.work_for(share);
        self.heartbeat_if_due(item, stage)
            .await
            .inspect_err(|stop| self.note_abandoned(stop, item, stage))?;
        let mut done = self
            .call(OpKind::Complete, item, stage, |c, id, now| {
                c.complete(id, item, now)
            })
            .await?;
        let settled;
        (done.value, settled) =
            self.settle_retried_completion(item, stage, done.value, done.attempt);
        let mut attrs = self.item_attrs(item, stage, done.value.label(), done.attempt);
        if settled {
            attrs.push(KeyValue::new("work.settled_by_read", true));
        }
        self.record_item(item, OpKind::Complete, &done, attrs);
        self.mark(AgentState::Idle);
        match done.value {
            CompleteOutcome::Completed { next: Some(_), .. } => {
                let handed = self.hand_off(item, stage).await;
                if let Err(Stop::GaveUp) = handed {
                    self.abandoned.push((item, stage, Unfinished::Handoff));
                }
                handed
            }
            CompleteOutcome::Completed { next: None, .. } => {
                self.finish_item();
                Ok(())
            }
            CompleteOutcome::LeaseLost => Ok(()),
        }
    }
}
