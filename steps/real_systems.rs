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
use cucumber::{given, then, when};

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
    let mut config = AdapterConfig::load(&resolve(&config))?;
    let faults = &world.command_faults;
    if faults.kill_percent > 0.0 {
        config.faults.kill_percent = faults.kill_percent;
        config.faults.kill_after = faults.kill_after;
    }
    config
        .faults
        .leftover_files
        .extend(faults.leftover_files.iter().cloned());
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

/// Kills N% of the agents' calls with SIGKILL to their whole process group, M ms after each
/// starts, as a crash or an OOM kill would: what a real tool leaves then (a stale lock, a
/// half-written file) is what the checks see.
#[given(expr = "{float}% of the system's calls are killed with SIGKILL {int} ms after they start")]
fn kill_calls(world: &mut SwarmWorld, percent: f64, after_ms: u64) -> anyhow::Result<()> {
    if !(0.0..=100.0).contains(&percent) || after_ms == 0 {
        anyhow::bail!("a share of calls is 0 to 100 %, and the kill comes at least 1 ms in");
    }
    world.command_faults.kill_percent = percent;
    world.command_faults.kill_after = std::time::Duration::from_millis(after_ms);
    Ok(())
}

/// Leaves an empty file where a crashed run would have (a lock file, say), before the
/// system is initialised; `{run_dir}` is the run's scratch directory.
#[given(expr = "a crashed run left the file {string} behind")]
fn leftover_file(world: &mut SwarmWorld, path: String) -> anyhow::Result<()> {
    world.command_faults.leftover_files.push(path);
    Ok(())
}

/// Every piece of work the run set out to do got an acknowledged completion.
#[then("every item was finished")]
fn every_item_finished(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = adapter::breakage::every_item_finished(history_of(world)?);
    world.judge(verdict)
}

/// The abandoned-work check fails and names each item or piece of work nobody finished,
/// with the refusals that led there (for a system that loses work on purpose).
#[then("the history checker lists abandoned work, with the refusals that led there")]
fn abandoned_listed(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict = adapter::breakage::every_item_finished(history_of(world)?);
    let names_refusals = verdict
        .evidence
        .iter()
        .any(|line| line.contains("refused") || line.contains("busy") || line.contains("conflict"));
    let verdict = Verdict::expect_refuted(verdict);
    if verdict.passed && !names_refusals {
        anyhow::bail!("work was abandoned, but no finding names a refusal: {verdict}");
    }
    world.judge(verdict)
}

/// Calls the fault injector killed are reported as killed, apart from the system's own
/// failures, and at least one was.
#[then("the killed calls are reported as killed, not as the system's failures")]
fn killed_reported(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let run = history_of(world)?;
    let killed = run
        .operations
        .iter()
        .filter(|op| op.outcome == adapter::Outcome::Killed)
        .count();
    let verdict = Verdict::new(
        "killed calls are told apart",
        killed > 0
            && history::calls_served(run)
                .observed
                .contains("killed on purpose"),
        "at least 1 call killed by the fault injector, and the calls check says so",
        format!("{killed} calls killed"),
        Vec::new(),
    );
    world.judge(verdict)
}
