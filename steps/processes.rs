//! Steps for a swarm split across OS processes that share one file store: the workers are
//! the swarmspec executable itself, and the checks read their span files and the store.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use crate::compliance::canary::ScratchDir;
use crate::evidence::{Evidence, Verdict};
use crate::store::{acknowledged, audit};
use crate::swarm::processes::{self, SplitPlan};
use crate::swarm::split_store::SplitStore;
use crate::swarm::SwarmConfig;
use anyhow::Context as _;
use cucumber::{given, then};

use super::SwarmWorld;

/// The split run of a scenario: how many processes, where the store is, how they ended.
#[derive(Debug, Default)]
pub struct SplitState {
    /// Set by the Given step; `When the swarm runs` then splits the swarm.
    pub process_count: Option<usize>,
    /// The store, removed with the scenario.
    store: Option<ScratchDir>,
    /// Verdicts about the workers themselves, from the last run.
    worker_verdicts: Vec<Verdict>,
}

/// The swarmspec executable that child processes run (split workers, memory probes, the
/// file store's command line): see `systems::swarmspec_executable`.
pub fn executable() -> anyhow::Result<PathBuf> {
    Ok(crate::systems::swarmspec_executable()?)
}

impl SplitState {
    /// Runs `config` split across the processes, in a fresh store; returns merged evidence.
    pub fn run(&mut self, config: &SwarmConfig) -> anyhow::Result<Evidence> {
        let process_count = self.process_count.context("no process count was given")?;
        let store = ScratchDir::new()?;
        let plan = SplitPlan {
            executable: executable()?,
            store: SplitStore::File(store.path().to_path_buf()),
            spans_dir: store.path().join(processes::SPANS_DIR),
            process_count,
            config: config.clone(),
        };
        let run = processes::run(&plan, &AtomicU64::new(0))
            .with_context(|| format!("split run failed (seed {})", config.seed))?;
        self.worker_verdicts = vec![run.workers_succeeded(), run.span_files_whole()];
        self.store = Some(store);
        Ok(run.evidence)
    }

    fn store(&self) -> anyhow::Result<&ScratchDir> {
        self.store
            .as_ref()
            .context("no split run happened: add `When the swarm runs` after the split step")
    }
}

/// Splits the swarm's agents evenly across worker processes that share one file store.
/// Needs `throughput mode` (a split run is on the real clock) and a `file:` system.
#[given(expr = "the swarm is split across {int} processes sharing a file store")]
fn split_across(world: &mut SwarmWorld, process_count: usize) {
    world.split.process_count = Some(process_count);
}

/// Every worker process exited with status 0 and its span file read back whole.
#[then("every worker process exited cleanly and its spans read back whole")]
fn workers_clean(world: &mut SwarmWorld) -> anyhow::Result<()> {
    world.split.store()?;
    for verdict in world.split.worker_verdicts.clone() {
        world.judge(verdict)?;
    }
    Ok(())
}

/// The store's log holds every completion a process was told succeeded.
#[then("the store's log holds every completion acknowledged to a process")]
fn none_lost(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let dir = world.split.store()?.path().to_path_buf();
    let verdict = acknowledged::no_lost_completions(&world.evidence()?.spans, &dir);
    world.judge(verdict)
}

/// Every item the store shows completed was acknowledged to some process.
#[then("every item the store shows completed was acknowledged to a process")]
fn none_unexplained(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let dir = world.split.store()?.path().to_path_buf();
    let spans = &world.evidence()?.spans;
    let verdict = acknowledged::unexplained_completions_at_most(spans, &dir, 0);
    world.judge(verdict)
}

/// The store's files parse and agree with one another.
#[then("the store's files are valid and agree with one another")]
fn store_agrees(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = audit::no_anomalies(world.split.store()?.path());
    world.judge(verdict)
}
