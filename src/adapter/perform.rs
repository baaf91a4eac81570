//! Making one operation's calls: under a slot (a counting semaphore bounds the processes
//! alive at once), retried while the system says it is busy, each attempt recorded as an
//! operation of the history and a span of the capture.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use opentelemetry::KeyValue;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::call::{CallResult, Launcher, Outcome, Values};
use super::config::{AdapterConfig, OpSpec};
use super::runner::RunPlan;
use super::Operation;
use crate::telemetry::recorder::OpResult;
use crate::telemetry::{AgentRecorder, Capture, OpKind, TimeBase};

/// A counting semaphore: at most `free` processes alive at once.
pub(super) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    pub(super) fn new(free: usize) -> Self {
        Self {
            free: Mutex::new(free),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        // A poisoned count is still a count: the panicking holder never got to change it.
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hold<T>(&self, work: impl FnOnce() -> T) -> T {
        {
            let mut free = self.lock();
            while *free == 0 {
                free = self
                    .freed
                    .wait(free)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            *free -= 1;
        }
        let value = work();
        *self.lock() += 1;
        self.freed.notify_one();
        value
    }
}

/// What every caller shares during a run.
pub(super) struct Shared<'a> {
    pub(super) config: &'a AdapterConfig,
    pub(super) plan: &'a RunPlan,
    pub(super) launcher: Launcher,
    pub(super) slots: Slots,
    pub(super) started: Instant,
    pub(super) capture: Arc<Capture>,
    pub(super) time_base: TimeBase,
}

/// One call's subject.
#[derive(Clone, Copy)]
pub(super) struct Subject<'a> {
    pub(super) kind: OpKind,
    pub(super) agent: Option<&'a str>,
    pub(super) item: Option<&'a str>,
    pub(super) progress: Option<u8>,
}

/// The `work.outcome` value the rest of swarmspec uses for this kind of call and outcome.
fn outcome_label(kind: OpKind, outcome: Outcome) -> &'static str {
    match (kind, outcome) {
        (OpKind::Claim, Outcome::Ok) => "claimed",
        (OpKind::Complete, Outcome::Ok) => "completed",
        (OpKind::Progress | OpKind::Complete, Outcome::Conflict) => "lease_lost",
        (_, outcome) => outcome.as_str(),
    }
}

/// The id `op` assigned, from stdout by its capture regex, or `proposed` without one.
pub(super) fn assigned_id(
    op: &OpSpec,
    result: &CallResult,
    proposed: Option<&str>,
) -> Option<String> {
    let Some(pattern) = &op.capture else {
        return proposed.map(str::to_owned);
    };
    let found = pattern.captures(&result.stdout)?;
    let group = found
        .name("id")
        .or_else(|| found.get(1))
        .or_else(|| found.get(0))?;
    Some(group.as_str().to_owned())
}

impl Shared<'_> {
    pub(super) fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    pub(super) fn values(&self) -> Values<'_> {
        Values::base(&self.config.dir, &self.plan.run_dir, &self.plan.swarmspec)
    }

    /// Makes `op`'s call for `subject`, again while the system answers busy and the retry
    /// policy allows, pausing a jittered backoff drawn from `rng` between attempts. Every
    /// attempt goes into `operations` and the capture; the last attempt's result is returned.
    /// A share of calls (`[faults] kill_percent`, drawn from `rng`) is killed mid-call.
    pub(super) fn perform(
        &self,
        op: &OpSpec,
        subject: Subject<'_>,
        recorder: &mut AgentRecorder,
        rng: &mut ChaCha8Rng,
        operations: &mut Vec<Operation>,
    ) -> CallResult {
        let policy = self.config.retry;
        let mut attempt = 1;
        loop {
            let result = self.attempt(op, subject, attempt, recorder, rng, operations);
            if result.outcome != Outcome::Busy || attempt >= policy.attempts {
                return result;
            }
            attempt += 1;
            std::thread::sleep(policy.backoff_before(attempt, rng));
        }
    }

    fn attempt(
        &self,
        op: &OpSpec,
        subject: Subject<'_>,
        attempt: u32,
        recorder: &mut AgentRecorder,
        rng: &mut ChaCha8Rng,
        operations: &mut Vec<Operation>,
    ) -> CallResult {
        let values = Values {
            agent_id: subject.agent,
            work_item_id: subject.item,
            progress: subject.progress,
            ..self.values()
        };
        let faults = &self.config.faults;
        let doomed = faults.kill_percent > 0.0
            && matches!(
                subject.kind,
                OpKind::Claim | OpKind::Progress | OpKind::Complete
            )
            && rng.gen_bool((faults.kill_percent / 100.0).clamp(0.0, 1.0));
        let kill_after = doomed.then_some(faults.kill_after);
        let (invoke_ns, mut result, complete_ns) = self.slots.hold(|| {
            let invoke_ns = self.now_ns();
            let result = self.launcher.call_killed_after(op, &values, kill_after);
            (invoke_ns, result, self.now_ns())
        });
        // A claim that creates its item names it only in its answer.
        let item = match (subject.item, subject.kind, result.outcome) {
            (Some(item), _, _) => Some(item.to_owned()),
            (None, OpKind::Claim, Outcome::Ok) => assigned_id(op, &result, None),
            _ => None,
        };
        if subject.item.is_none()
            && subject.kind == OpKind::Claim
            && item.is_none()
            && result.outcome == Outcome::Ok
        {
            result.outcome = Outcome::Failed;
            result.problem =
                Some("acknowledged, but [claim].capture found no item id in its stdout".into());
        }
        let mut attributes = vec![KeyValue::new(
            "work.outcome",
            outcome_label(subject.kind, result.outcome),
        )];
        if let Some(item) = &item {
            attributes.push(KeyValue::new("work.item_id", item.clone()));
            attributes.push(KeyValue::new("work.stage", 0_i64));
        }
        if let (OpKind::Register | OpKind::Submit, Some(agent)) = (subject.kind, subject.agent) {
            attributes.push(KeyValue::new("agent.id", agent.to_owned()));
        }
        if let Some(progress) = subject.progress {
            attributes.push(KeyValue::new("work.progress", i64::from(progress)));
        }
        if attempt > 1 {
            attributes.push(KeyValue::new("work.attempt", i64::from(attempt)));
        }
        let span_result = match (&result.outcome, &result.problem) {
            (Outcome::Failed | Outcome::TimedOut | Outcome::Killed, Some(problem)) => {
                OpResult::Failed(problem)
            }
            _ => OpResult::Served,
        };
        recorder.op(
            subject.kind,
            invoke_ns,
            complete_ns,
            attributes,
            span_result,
        );
        operations.push(Operation {
            index: 0,
            kind: subject.kind,
            agent: subject.agent.map(str::to_owned),
            item,
            progress: subject.progress,
            attempt,
            invoke_ns,
            complete_ns,
            outcome: result.outcome,
            exit_code: result.exit_code,
            stdout_excerpt: result.excerpt(),
            problem: result.problem.clone(),
        });
        result
    }

    pub(super) fn recorder(&self, session: &'static str, identity: Vec<KeyValue>) -> AgentRecorder {
        AgentRecorder::open(
            Arc::clone(&self.capture),
            self.time_base,
            session,
            identity,
            self.now_ns(),
        )
    }
}
