//! The adapter's run: set up (leftover files, init, register, submit), then agents work
//! through the system's command line (`agents`) while a sampler reads the state, then the
//! final state is read.
//!
//! Every call is an OS process; a counting semaphore keeps at most `concurrency` of them
//! alive at once, whatever the number of agents.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use super::agents::{self, BOARD_OPEN};
use super::call::{Launcher, Outcome, Values};
use super::config::{AdapterConfig, OpSpec};
use super::perform::{assigned_id, Shared, Slots, Subject};
use super::{sampler, state, AdapterRun, Operation};
use crate::error::{Error, Result};
use crate::telemetry::{AgentRecorder, Capture, OpKind, TimeBase};

/// The most agents one run may have: each is a thread.
pub const AGENTS_MAX: usize = 1024;
/// The most items (or, when claims create them, pieces of work) one run may have.
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
    /// Items, each proposing the id `item-NNNN` (ignored when the config lists items); when
    /// claims create items, how many pieces of work to get done.
    pub items: usize,
    /// Seed of each agent's item order.
    pub seed: u64,
    /// Scratch directory for the system's state (`{run_dir}`); created if missing.
    pub run_dir: PathBuf,
    /// The swarmspec executable (`{swarmspec}`).
    pub swarmspec: PathBuf,
}

/// Runs a setup call (register or submit) for each proposed id, in order; any failure stops
/// the run, because there is nothing sound to judge without every agent and item.
fn set_up(
    shared: &Shared<'_>,
    op: Option<&OpSpec>,
    kind: OpKind,
    (proposed, submitters): (Vec<String>, &[String]),
    operations: &mut Vec<Operation>,
    recorder: &mut AgentRecorder,
) -> Result<Vec<String>> {
    let Some(op) = op else { return Ok(proposed) };
    let section = kind.span_name();
    let mut ids = Vec::with_capacity(proposed.len());
    let mut rng = agents::agent_rng(shared.plan.seed, usize::MAX);
    for (index, id) in proposed.iter().enumerate() {
        let subject = match kind {
            OpKind::Register => Subject {
                kind,
                agent: Some(id),
                item: None,
                progress: None,
            },
            // Items are submitted by the agents in turn, for a tool that wants `{agent_id}`.
            _ => Subject {
                kind,
                agent: submitters
                    .get(index % submitters.len().max(1))
                    .map(String::as_str),
                item: Some(id),
                progress: None,
            },
        };
        let result = shared.perform(op, subject, recorder, &mut rng, operations);
        let assigned = (result.outcome == Outcome::Ok)
            .then(|| assigned_id(op, &result, Some(id)))
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
        if let Some(operation) = operations.last_mut() {
            match kind {
                OpKind::Register => operation.agent = Some(assigned.clone()),
                _ => operation.item = Some(assigned.clone()),
            }
        }
        ids.push(assigned);
    }
    Ok(ids)
}

/// Creates the files a crashed run would have left (`[faults] leftover_files`), empty.
fn leave_files(config: &AdapterConfig, base: &Values<'_>) -> Result<()> {
    for template in &config.faults.leftover_files {
        let path = config.dir.join(base.expand(template));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| {
                Error::Adapter(format!(
                    "[faults] cannot create {}: {error}",
                    parent.display()
                ))
            })?;
        }
        std::fs::write(&path, b"").map_err(|error| {
            Error::Adapter(format!("[faults] cannot leave {}: {error}", path.display()))
        })?;
    }
    Ok(())
}

/// A warning when every agent call exited with the same code: then the outcomes came from
/// the stdout rules alone, and a reader should know the exit code told nothing.
fn exit_code_warning(operations: &[Operation]) -> Option<String> {
    let codes: BTreeSet<Option<i32>> = operations
        .iter()
        .filter(|op| matches!(op.kind, OpKind::Claim | OpKind::Progress | OpKind::Complete))
        .filter(|op| !matches!(op.outcome, Outcome::TimedOut | Outcome::Killed))
        .map(|op| op.exit_code)
        .collect();
    let outcomes: BTreeSet<Outcome> = operations.iter().map(|op| op.outcome).collect();
    match (codes.len(), codes.first()) {
        (1, Some(Some(code))) if outcomes.len() > 1 => Some(format!(
            "every call exited {code}; outcomes came from stdout rules only"
        )),
        _ => None,
    }
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
        slots: Slots::new(config.concurrency),
        started: Instant::now(),
        capture,
        time_base: TimeBase::wall_clock_now(),
    };
    leave_files(config, &base)?;
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
        (proposed_agents, &[]),
        &mut operations,
        &mut setup,
    )?;
    let submitted = if config.claim_creates_item {
        Vec::new()
    } else {
        set_up(
            &shared,
            config.submit.as_ref(),
            OpKind::Submit,
            (proposed_items, &agents),
            &mut operations,
            &mut setup,
        )?
    };
    setup.close(shared.now_ns());

    let board: Vec<AtomicU8> = submitted
        .iter()
        .map(|_| AtomicU8::new(BOARD_OPEN))
        .collect();
    let next_piece = AtomicUsize::new(0);
    let agents_started_ns = shared.now_ns();
    let (stop_sampling, stop) = mpsc::channel::<()>();
    let samples = std::thread::scope(|scope| {
        let sampler = config.state.sample_every.map(|every| {
            let (shared, base) = (&shared, &base);
            scope.spawn(move || {
                let now = || shared.now_ns();
                sampler::sample_until(&config.state, every, (&shared.launcher, base), now, &stop)
            })
        });
        let walkers: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(index, agent)| {
                let (shared, items, board, next) = (&shared, &submitted, &board, &next_piece);
                scope.spawn(move || {
                    if config.claim_creates_item {
                        agents::create_and_finish(shared, (index, agent), plan.items, next)
                    } else {
                        agents::walk_items(shared, (index, agent), items, board)
                    }
                })
            })
            .collect();
        for walker in walkers {
            match walker.join() {
                Ok(ops) => operations.extend(ops),
                // An agent thread panicking is a bug in swarmspec, not in the system under test.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let _ = stop_sampling.send(());
        match sampler.map(|thread| thread.join()) {
            Some(Ok(samples)) => samples,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Vec::new(),
        }
    });
    let agents_duration_ns = shared.now_ns() - agents_started_ns;
    operations.sort_by_key(|op| (op.invoke_ns, op.complete_ns));
    for (index, operation) in operations.iter_mut().enumerate() {
        operation.index = index;
    }
    let items = if config.claim_creates_item {
        operations
            .iter()
            .filter(|op| op.kind == OpKind::Claim && op.acknowledged())
            .filter_map(|op| op.item.clone())
            .collect()
    } else {
        submitted
    };
    let state = state::read(&config.state, &shared.launcher, &base);
    let warnings = exit_code_warning(&operations).into_iter().collect();
    Ok(AdapterRun {
        config_path: config.path.clone(),
        run_dir: plan.run_dir.clone(),
        agents,
        items,
        pieces: if config.claim_creates_item {
            plan.items
        } else {
            board.len()
        },
        claims_create_items: config.claim_creates_item,
        operations,
        state,
        samples,
        warnings,
        concurrency: config.concurrency,
        agents_duration_ns,
    })
}
