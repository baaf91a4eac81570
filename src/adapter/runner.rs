//! The adapter's run: set up (init, register, submit), then agents work the items through the
//! system's command line, then the final state is read.
//!
//! Each agent is a thread walking the items in its own seeded order: claim; on success report
//! each progress step and complete; on a conflict move on. Like an agent reading a board, it
//! skips items the adapter saw acknowledged as claimed or completed to anyone (an item whose
//! holder was refused goes back on the board), and it never tries an item twice, so a run
//! makes at most `agents × items` claims; in practice about one per item plus the races. Every call is an OS process; a counting semaphore keeps at most
//! `concurrency` of them alive at once, whatever the number of agents.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use opentelemetry::KeyValue;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::call::{CallResult, Launcher, Outcome, Values};
use super::config::{AdapterConfig, OpSpec};
use super::{state, AdapterRun, Operation};
use crate::error::{Error, Result};
use crate::telemetry::recorder::OpResult;
use crate::telemetry::{AgentRecorder, Capture, OpKind, TimeBase};

/// The most agents one run may have: each is a thread.
pub const AGENTS_MAX: usize = 1024;
/// The most items one run may have: agents walk every one of them.
pub const ITEMS_MAX: usize = 100_000;

/// A fresh scratch directory for a run's `{run_dir}` under the system temp directory, named
/// by `label`, the process and the time, so runs side by side never share one.
pub fn scratch_dir(label: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("swarmspec-{label}-{}-{stamp}", std::process::id()))
}

/// What to run: how many agents and items, the seed for their orders, and where.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Agents (threads), each proposing the id `agent-NNN`.
    pub agents: usize,
    /// Items, each proposing the id `item-NNNN` (ignored when the config lists items).
    pub items: usize,
    /// Seed of each agent's item order.
    pub seed: u64,
    /// Scratch directory for the system's state (`{run_dir}`); created if missing.
    pub run_dir: PathBuf,
    /// The swarmspec executable (`{swarmspec}`).
    pub swarmspec: PathBuf,
}

/// An item on the adapter's board: nobody is known to hold it.
const BOARD_OPEN: u8 = 0;
/// An item on the adapter's board: a claim of it was acknowledged.
const BOARD_TAKEN: u8 = 1;
/// An item on the adapter's board: its completion was acknowledged.
const BOARD_DONE: u8 = 2;

/// A counting semaphore: at most `free` processes alive at once.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
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
struct Shared<'a> {
    config: &'a AdapterConfig,
    plan: &'a RunPlan,
    launcher: Launcher,
    slots: Slots,
    started: Instant,
    capture: Arc<Capture>,
    time_base: TimeBase,
}

/// One call's subject.
#[derive(Clone, Copy)]
struct Subject<'a> {
    kind: OpKind,
    agent: Option<&'a str>,
    item: Option<&'a str>,
    progress: Option<u8>,
}

impl Shared<'_> {
    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn values(&self) -> Values<'_> {
        Values::base(&self.config.dir, &self.plan.run_dir, &self.plan.swarmspec)
    }

    /// Makes one call under a slot, records it as an operation and a span, and returns it
    /// with the call's full result.
    fn perform(
        &self,
        op: &OpSpec,
        subject: Subject<'_>,
        recorder: &mut AgentRecorder,
    ) -> (Operation, CallResult) {
        let values = Values {
            agent_id: subject.agent,
            work_item_id: subject.item,
            progress: subject.progress,
            ..self.values()
        };
        let (invoke_ns, result, complete_ns) = self.slots.hold(|| {
            let invoke_ns = self.now_ns();
            let result = self.launcher.call(op, &values);
            (invoke_ns, result, self.now_ns())
        });
        let operation = Operation {
            index: 0,
            kind: subject.kind,
            agent: subject.agent.map(str::to_owned),
            item: subject.item.map(str::to_owned),
            progress: subject.progress,
            invoke_ns,
            complete_ns,
            outcome: result.outcome,
            exit_code: result.exit_code,
            stdout_excerpt: result.excerpt(),
            problem: result.problem.clone(),
        };
        let mut attributes = vec![KeyValue::new(
            "work.outcome",
            outcome_label(subject.kind, result.outcome),
        )];
        if let Some(item) = subject.item {
            attributes.push(KeyValue::new("work.item_id", item.to_owned()));
            attributes.push(KeyValue::new("work.stage", 0_i64));
        }
        if let (OpKind::Register | OpKind::Submit, Some(agent)) = (subject.kind, subject.agent) {
            attributes.push(KeyValue::new("agent.id", agent.to_owned()));
        }
        if let Some(progress) = subject.progress {
            attributes.push(KeyValue::new("work.progress", i64::from(progress)));
        }
        let span_result = match (&result.outcome, &result.problem) {
            (Outcome::Failed | Outcome::TimedOut, Some(problem)) => OpResult::Failed(problem),
            _ => OpResult::Served,
        };
        recorder.op(
            subject.kind,
            invoke_ns,
            complete_ns,
            attributes,
            span_result,
        );
        (operation, result)
    }

    fn recorder(&self, session: &'static str, identity: Vec<KeyValue>) -> AgentRecorder {
        AgentRecorder::open(
            Arc::clone(&self.capture),
            self.time_base,
            session,
            identity,
            self.now_ns(),
        )
    }
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
fn assigned_id(op: &OpSpec, result: &CallResult, proposed: &str) -> Option<String> {
    let Some(pattern) = &op.capture else {
        return Some(proposed.to_owned());
    };
    let found = pattern.captures(&result.stdout)?;
    let group = found
        .name("id")
        .or_else(|| found.get(1))
        .or_else(|| found.get(0))?;
    Some(group.as_str().to_owned())
}

/// Runs a setup call (register or submit) for each proposed id, in order; any failure stops
/// the run, because there is nothing sound to judge without every agent and item.
fn set_up(
    shared: &Shared<'_>,
    op: Option<&OpSpec>,
    kind: OpKind,
    proposed: Vec<String>,
    operations: &mut Vec<Operation>,
    recorder: &mut AgentRecorder,
) -> Result<Vec<String>> {
    let Some(op) = op else { return Ok(proposed) };
    let section = kind.span_name();
    let mut ids = Vec::with_capacity(proposed.len());
    for id in &proposed {
        let subject = match kind {
            OpKind::Register => Subject {
                kind,
                agent: Some(id),
                item: None,
                progress: None,
            },
            _ => Subject {
                kind,
                agent: None,
                item: Some(id),
                progress: None,
            },
        };
        let (mut operation, result) = shared.perform(op, subject, recorder);
        let assigned = (result.outcome == Outcome::Ok)
            .then(|| assigned_id(op, &result, id))
            .flatten();
        let Some(assigned) = assigned else {
            return Err(Error::Adapter(format!(
                "{section} for {id}: {} ({}); stdout «{}»",
                result.outcome.as_str(),
                result
                    .problem
                    .as_deref()
                    .unwrap_or("the capture regex found no id"),
                result.excerpt()
            )));
        };
        match kind {
            OpKind::Register => operation.agent = Some(assigned.clone()),
            _ => operation.item = Some(assigned.clone()),
        }
        operations.push(operation);
        ids.push(assigned);
    }
    Ok(ids)
}

/// One agent's walk over the items; returns its operations.
fn agent_loop(
    shared: &Shared<'_>,
    agent: &str,
    order: &[usize],
    items: &[String],
    board: &[AtomicU8],
) -> Vec<Operation> {
    let config = shared.config;
    let identity = vec![KeyValue::new("agent.id", agent.to_owned())];
    let mut recorder = shared.recorder("agent.session", identity);
    let mut operations = Vec::new();
    for &index in order {
        if board[index].load(Ordering::Acquire) != BOARD_OPEN {
            continue;
        }
        let claim = Subject {
            kind: OpKind::Claim,
            agent: Some(agent),
            item: Some(items[index].as_str()),
            progress: None,
        };
        let (operation, _) = shared.perform(&config.claim, claim, &mut recorder);
        let claimed = operation.acknowledged();
        operations.push(operation);
        if !claimed {
            continue;
        }
        board[index].store(BOARD_TAKEN, Ordering::Release);
        let progress_calls = config.progress.iter().flat_map(|op| {
            config.progress_steps.iter().map(move |&percent| {
                let subject = Subject {
                    kind: OpKind::Progress,
                    progress: Some(percent),
                    ..claim
                };
                (op, subject)
            })
        });
        let complete = Subject {
            kind: OpKind::Complete,
            ..claim
        };
        for (op, subject) in progress_calls.chain([(&config.complete, complete)]) {
            let (operation, _) = shared.perform(op, subject, &mut recorder);
            let acknowledged = operation.acknowledged();
            operations.push(operation);
            if !acknowledged {
                // The holder was refused: as far as anyone can tell, the item is free again.
                board[index].store(BOARD_OPEN, Ordering::Release);
                break;
            }
            if subject.kind == OpKind::Complete {
                board[index].store(BOARD_DONE, Ordering::Release);
            }
        }
    }
    recorder.close(shared.now_ns());
    operations
}

/// Runs `config` as `plan` says; every call lands in `capture` as a span and a latency.
pub fn run(config: &AdapterConfig, plan: &RunPlan, capture: Arc<Capture>) -> Result<AdapterRun> {
    if !(1..=AGENTS_MAX).contains(&plan.agents) {
        return Err(Error::Adapter(format!(
            "agents must be 1 to {AGENTS_MAX}, not {}",
            plan.agents
        )));
    }
    let proposed_items = match &config.items {
        Some(items) => items.clone(),
        None if (1..=ITEMS_MAX).contains(&plan.items) => {
            (0..plan.items).map(|i| format!("item-{i:04}")).collect()
        }
        None => {
            return Err(Error::Adapter(format!(
                "items must be 1 to {ITEMS_MAX}, not {}",
                plan.items
            )))
        }
    };
    std::fs::create_dir_all(&plan.run_dir).map_err(|error| {
        Error::Adapter(format!("cannot create {}: {error}", plan.run_dir.display()))
    })?;
    let base = Values::base(&config.dir, &plan.run_dir, &plan.swarmspec);
    let launcher = Launcher {
        cwd: config.dir.clone(),
        env: config
            .env
            .iter()
            .map(|(name, value)| (name.clone(), base.expand(value)))
            .collect(),
    };
    let shared = Shared {
        config,
        plan,
        launcher,
        slots: Slots {
            free: Mutex::new(config.concurrency),
            freed: Condvar::new(),
        },
        started: Instant::now(),
        capture,
        time_base: TimeBase::wall_clock_now(),
    };
    if let Some(init) = &config.init {
        let result = shared.launcher.call(init, &base);
        if result.outcome != Outcome::Ok {
            return Err(Error::Adapter(format!(
                "[init] {}: {}; stdout «{}»",
                result.outcome.as_str(),
                result.problem.as_deref().unwrap_or_default(),
                result.excerpt()
            )));
        }
    }
    let mut operations = Vec::new();
    let mut setup = shared.recorder("adapter.setup", Vec::new());
    let proposed_agents = (0..plan.agents).map(|i| format!("agent-{i:03}")).collect();
    let agents = set_up(
        &shared,
        config.register.as_ref(),
        OpKind::Register,
        proposed_agents,
        &mut operations,
        &mut setup,
    )?;
    let items = set_up(
        &shared,
        config.submit.as_ref(),
        OpKind::Submit,
        proposed_items,
        &mut operations,
        &mut setup,
    )?;
    setup.close(shared.now_ns());

    let board: Vec<AtomicU8> = items.iter().map(|_| AtomicU8::new(BOARD_OPEN)).collect();
    let agents_started_ns = shared.now_ns();
    std::thread::scope(|scope| {
        let walkers: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(index, agent)| {
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.shuffle(&mut ChaCha8Rng::seed_from_u64(
                    plan.seed.wrapping_add(index as u64),
                ));
                let (shared, items, board) = (&shared, &items, &board);
                scope.spawn(move || agent_loop(shared, agent, &order, items, board))
            })
            .collect();
        for walker in walkers {
            match walker.join() {
                Ok(ops) => operations.extend(ops),
                // An agent thread panicking is a bug in swarmspec, not in the system under test.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    let agents_duration_ns = shared.now_ns() - agents_started_ns;
    operations.sort_by_key(|op| (op.invoke_ns, op.complete_ns));
    for (index, operation) in operations.iter_mut().enumerate() {
        operation.index = index;
    }
    let state = state::read(&config.state, &shared.launcher, &base);
    Ok(AdapterRun {
        config_path: config.path.clone(),
        run_dir: plan.run_dir.clone(),
        agents,
        items,
        operations,
        state,
        concurrency: config.concurrency,
        agents_duration_ns,
    })
}
