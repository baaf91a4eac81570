//! Steps that drive a real coordinator through its command line (the external-command
//! adapter, `src/adapter/`) and judge its history: what it acknowledged against the state it
//! ends in.
//!
//! A config path is relative to the features directory, like span files, so a feature and
//! its fixtures travel together (into the binary's embedded copy too: the fixture scripts are
//! run through their interpreter, so they need no execute bit).

use std::sync::Arc;

use crate::adapter::{self, history, AdapterConfig, AdapterRun, RunPlan};
use crate::evidence::{Evidence, Verdict};
use crate::telemetry::Capture;
use anyhow::Context as _;
use cucumber::{then, when};

use super::ingestion::resolve;
use super::SwarmWorld;

fn history_of(world: &SwarmWorld) -> anyhow::Result<&AdapterRun> {
    world.adapter.as_ref().context(
        "no system was driven: add a `When N agents work on M items of the system configured in \"PATH\"` step",
    )
}

/// Drives the system the adapter config describes with N agents over M items, keeping every
/// call as an operation and a span; the run's scratch directory is removed afterwards.
#[when(expr = "{int} agents work on {int} items of the system configured in {string}")]
fn drive(
    world: &mut SwarmWorld,
    agents: usize,
    items: usize,
    config: String,
) -> anyhow::Result<()> {
    let config = AdapterConfig::load(&resolve(&config))?;
    let plan = RunPlan {
        agents,
        items,
        seed: world.config.seed,
        run_dir: adapter::scratch_dir("scenario"),
        swarmspec: super::processes::executable()?,
    };
    let capture = Arc::new(Capture::new(plan.seed));
    let run = adapter::run(&config, &plan, Arc::clone(&capture));
    // The state was read before `run` returned; nothing else needs the directory.
    let _ = std::fs::remove_dir_all(&plan.run_dir);
    world.adapter = Some(run.with_context(|| format!("driving {}", config.path.display()))?);
    world.evidence = Some(Evidence::from_capture(&capture)?);
    let mut record = super::record::external("command");
    record.insert(
        "agents".into(),
        crate::claims::conditions::number(agents as f64),
    );
    world.run_record = record;
    Ok(())
}

/// No call failed or timed out, and at least one claim was acknowledged (so the other
/// checks had something to judge).
#[then("every call to the system was answered")]
fn calls_served(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = history::calls_served(history_of(world)?);
    world.judge(verdict)
}

/// The final state parsed as a work_claims.json array listing the items.
#[then("the final state was readable")]
fn state_readable(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = history::state_readable(history_of(world)?);
    world.judge(verdict)
}

/// Every acknowledged submit, claim, progress and complete is reflected in the final state.
#[then("no acknowledged update was lost")]
fn nothing_lost(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = history::no_lost_updates(history_of(world)?);
    world.judge(verdict)
}

/// No two acknowledged claims of an item have overlapping holds.
#[then("no item was held by two agents, by the acknowledged claims")]
fn no_double_holds(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = history::no_double_holds(history_of(world)?);
    world.judge(verdict)
}

/// The lost-update check fails and its evidence names operations, agents and final states
/// (for a system that is lossy on purpose).
#[then("the history checker finds lost updates, naming the operation, the agent and the state observed")]
fn lost_updates_caught(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = Verdict::expect_refuted(history::no_lost_updates(history_of(world)?));
    world.judge(verdict)
}
