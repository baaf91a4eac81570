//! Which system a scenario's swarm drives, and faults done to a child-process system.
//!
//! The system is the scenario's own (`Given the system under test is "SPEC"`), else the
//! suite's (`swarmspec verify --system`, `SuiteOptions::system`), else `SWARMSPEC_SYSTEM`,
//! else `memory`. Before a run, its capabilities are checked against what the scenario
//! needs: a scenario that needs more is *not applicable*, with the reason, and runs nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use cucumber::{given, then};

use super::ingestion::resolve;
use super::SwarmWorld;
use crate::evidence::durability::{self, FinalState};
use crate::evidence::Verdict;
use crate::swarm::{Mode, SwarmConfig};
use crate::systems::process::ProcessCoordinator;
use crate::systems::{Capabilities, OpenContext, OpenSystem, SystemSpec};
use crate::telemetry::TimeBase;

/// Set (by CI) to make a process system whose program is missing a failure instead of a
/// not-applicable scenario.
pub const REQUIRE_PROGRAMS: &str = "SWARMSPEC_REQUIRE_PROGRAMS";

/// The system every scenario that names none runs against (set by `verify --system`).
pub static SYSTEM_OVERRIDE: Mutex<Option<SystemSpec>> = Mutex::new(None);

/// A fault done to a child-process system during a run, when a share of the items is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProcessFault {
    /// SIGKILL the child, then start it again on the same state directory.
    KillRestart {
        /// Share of items finished (0–1) when it happens.
        at: f64,
    },
    /// SIGSTOP the child for a while, then SIGCONT.
    Pause {
        /// Share of items finished (0–1) when it happens.
        at: f64,
        /// How long it stays stopped.
        length: Duration,
    },
    /// Every answer reaches the caller this much later.
    Slow(Duration),
}

/// The system this scenario runs against.
pub fn under_test(world: &SwarmWorld) -> anyhow::Result<SystemSpec> {
    if let Some(system) = &world.system {
        return Ok(system.clone());
    }
    let suite = SYSTEM_OVERRIDE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(system) = suite {
        return Ok(system);
    }
    match std::env::var("SWARMSPEC_SYSTEM") {
        Ok(text) if !text.trim().is_empty() => {
            SystemSpec::parse(&text).context("reading SWARMSPEC_SYSTEM")
        }
        _ => Ok(SystemSpec::Memory),
    }
}

/// A system opened (or ready to open) for one run.
pub struct Prepared {
    /// What it offers.
    pub capabilities: Capabilities,
    /// Builds the run's coordinator from its time base.
    pub factory: crate::swarm::CoordinatorFactory,
    /// The child, for process systems.
    pub process: Option<Arc<ProcessCoordinator>>,
    /// Keeps a file store's directory until the run is judged.
    pub keep: Arc<Mutex<Option<OpenSystem>>>,
}

/// Opens `system` for a run of `config`, or says why the scenario is not applicable.
pub fn prepare(
    system: &SystemSpec,
    config: &SwarmConfig,
    faults: &[ProcessFault],
) -> anyhow::Result<Result<Prepared, String>> {
    let label = system.label();
    if let SystemSpec::Process(path) = system {
        let config = crate::systems::process::ProcessConfig::load(path)?;
        if let Some(program) = config.missing_program() {
            let why = format!("system {label} needs `{program}`, which this machine does not have");
            // Skipped loudly here; a CI that installs the program makes its absence a failure.
            if std::env::var_os(REQUIRE_PROGRAMS).is_some() {
                anyhow::bail!("{why} (and {REQUIRE_PROGRAMS} is set)");
            }
            eprintln!("warning: {why}: the scenario is not applicable (set {REQUIRE_PROGRAMS}=1 to fail instead)");
            return Ok(Err(why));
        }
    }
    let keep: Arc<Mutex<Option<OpenSystem>>> = Arc::default();
    let (capabilities, process) = match system.declared_capabilities() {
        Some(capabilities) => (capabilities, None),
        None => {
            // A process says what it supports in its handshake: start it to know. Its
            // `now_ns` counts from about now, whatever the run's time base turns out to be.
            let context = OpenContext::new(config, TimeBase::wall_clock_now());
            let opened = system
                .open(&context)
                .with_context(|| format!("opening the system under test {label}"))?;
            let process = opened.process.clone();
            let capabilities = opened.capabilities;
            *keep
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(opened);
            (capabilities, process)
        }
    };
    if let Some(why) = capabilities.lacking(config, &label) {
        return Ok(Err(why));
    }
    if !faults.is_empty() {
        if process.is_none() {
            return Ok(Err(format!(
                "system {label} is not a child process, so it cannot be killed, paused or slowed"
            )));
        }
        if config.mode != Mode::Throughput {
            anyhow::bail!(
                "faults to the system's process happen on the real clock: add `Given throughput mode`"
            );
        }
    }
    let factory_keep = Arc::clone(&keep);
    let spec = system.clone();
    let lease_ns = config.lease_duration.as_nanos() as u64;
    let factory: crate::swarm::CoordinatorFactory = Arc::new(move |time_base: TimeBase| {
        let mut kept = factory_keep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(opened) = kept.as_ref() {
            return Ok(Arc::clone(&opened.coordinator));
        }
        let context = OpenContext {
            epoch_unix_ns: time_base.epoch_unix_ns(),
            lease_ns,
        };
        let opened = spec.open(&context)?;
        let coordinator = Arc::clone(&opened.coordinator);
        *kept = Some(opened);
        Ok(coordinator)
    });
    Ok(Ok(Prepared {
        capabilities,
        factory,
        process,
        keep,
    }))
}

/// Every item the run submitted, as the system shows it now: one `peek` each.
pub fn read_back(
    prepared: &Prepared,
    evidence: Option<&crate::evidence::Evidence>,
) -> BTreeMap<String, FinalState> {
    let mut finals = BTreeMap::new();
    let kept = prepared
        .keep
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (Some(opened), Some(evidence)) = (kept.as_ref(), evidence) else {
        return finals;
    };
    let submitted = evidence
        .spans
        .iter()
        .filter(|span| span.name == "work.submit")
        .filter_map(|span| span.attr_text("work.item_id"));
    for text in submitted {
        let Some(item) = crate::ids::WorkId::parse(&text) else {
            continue;
        };
        let state = match opened.coordinator.peek(item) {
            Ok(view) => FinalState::Found(view),
            Err(error) => FinalState::Missing(error.to_string()),
        };
        finals.insert(text, state);
    }
    finals
}

/// Runs the planned faults against `child` while a run goes, from a thread of its own;
/// `finish` stops it and says which planned faults never happened (the run ended first).
pub struct FaultDriver {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl FaultDriver {
    /// Starts driving `faults` against `child`; `finished` counts items done of `items`.
    pub fn start(
        child: Arc<ProcessCoordinator>,
        faults: Vec<ProcessFault>,
        finished: Arc<AtomicU64>,
        items: usize,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut waiting = Vec::new();
            for fault in faults {
                match fault {
                    ProcessFault::Slow(delay) => child.set_reply_delay(delay),
                    other => waiting.push(other),
                }
            }
            let threshold = |at: f64| (at * items as f64).ceil() as u64;
            let mut problems = Vec::new();
            while !waiting.is_empty() && !stopped.load(Ordering::Acquire) {
                let done = finished.load(Ordering::Acquire);
                let (due, later): (Vec<_>, Vec<_>) =
                    waiting.into_iter().partition(|fault| match fault {
                        ProcessFault::KillRestart { at } | ProcessFault::Pause { at, .. } => {
                            done >= threshold(*at)
                        }
                        ProcessFault::Slow(_) => true,
                    });
                waiting = later;
                for fault in due {
                    match fault {
                        ProcessFault::KillRestart { .. } => {
                            if let Err(error) = child.restart() {
                                problems.push(format!("restarting the child failed: {error}"));
                            }
                        }
                        ProcessFault::Pause { length, .. } => child.pause_for(length),
                        ProcessFault::Slow(_) => {}
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            problems.extend(waiting.iter().map(|fault| {
                format!("the planned fault {fault:?} never happened: the run ended first")
            }));
            problems
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the driver; returns what went wrong with the faults themselves.
    pub fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_else(|| vec!["the fault driver panicked".into()])
    }
}

fn system_spec(text: &str) -> anyhow::Result<SystemSpec> {
    // A config path in a feature is relative to the features directory, like span files.
    let spec = SystemSpec::parse(text)?;
    Ok(match spec {
        SystemSpec::Process(path) => SystemSpec::Process(resolve(&path.to_string_lossy())),
        SystemSpec::File(dir) => SystemSpec::File(resolve(&dir.to_string_lossy())),
        other => other,
    })
}

/// Runs this scenario against the named system instead of the suite's.
#[given(expr = "the system under test is {string}")]
fn system_is(world: &mut SwarmWorld, spec: String) -> anyhow::Result<()> {
    world.system = Some(system_spec(&spec)?);
    Ok(())
}

fn share(percent: u32) -> anyhow::Result<f64> {
    anyhow::ensure!(
        (1..=99).contains(&percent),
        "the share of items done must be 1 to 99 %, got {percent} %"
    );
    Ok(f64::from(percent) / 100.0)
}

/// Kills the system's child process with SIGKILL once that share of the items is done, and
/// starts it again on the same state directory.
#[given(
    expr = "the system's process is killed with SIGKILL and restarted when {int}% of the items are done"
)]
fn kill_restart(world: &mut SwarmWorld, percent: u32) -> anyhow::Result<()> {
    let at = share(percent)?;
    world.process_faults.push(ProcessFault::KillRestart { at });
    Ok(())
}

/// Stops the system's child process (SIGSTOP) for that long once that share is done.
#[given(expr = "the system's process is paused for {int} ms when {int}% of the items are done")]
fn pause(world: &mut SwarmWorld, ms: u64, percent: u32) -> anyhow::Result<()> {
    let at = share(percent)?;
    let length = Duration::from_millis(ms);
    world
        .process_faults
        .push(ProcessFault::Pause { at, length });
    Ok(())
}

/// Every answer of the system's child process reaches its caller that much later.
#[given(expr = "the system's process answers {int} ms late")]
fn slow(world: &mut SwarmWorld, ms: u64) {
    world
        .process_faults
        .push(ProcessFault::Slow(Duration::from_millis(ms)));
}

fn final_state(world: &SwarmWorld) -> anyhow::Result<&BTreeMap<String, FinalState>> {
    world.final_state.as_ref().context(
        "no final state was read: this check needs a system named by a spec (add `Given the \
         system under test is \"…\"`, or run with --system); the memory engine ends with its run",
    )
}

/// Every completion the system acknowledged shows in the state it ends in (read back by
/// swarmspec after the run, one peek per submitted item).
#[then("every completion the system acknowledged is in its final state")]
fn completions_kept(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict =
        durability::acknowledged_completions_kept(&world.evidence()?.spans, final_state(world)?);
    world.judge(verdict)
}

/// The durability check fails, naming lost completions (for a system lossy on purpose).
#[then(
    "the system lost completions it acknowledged, naming the item, the agent and the state found"
)]
fn completions_lost(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let inner =
        durability::acknowledged_completions_kept(&world.evidence()?.spans, final_state(world)?);
    world.judge(Verdict::expect_refuted(inner))
}
