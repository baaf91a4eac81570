//! `swarmspec run --processes P`: one swarm split across OS processes sharing a file store
//! or a PostgreSQL schema, judged from the merged spans of every process and from what the
//! store holds.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::Context as _;

use super::progress::DelayedBar;
use super::run::{judge, print_latency_table, swarm_checks};
use swarmspec::store::layout::WORK_CLAIMS_FILE;
use swarmspec::swarm::processes::{self, SplitPlan, SPANS_DIR};
use swarmspec::swarm::split_store::SplitStore;
use swarmspec::swarm::SwarmConfig;

/// Refuses a store directory an earlier run left items in. A split run judges every
/// completion the store holds against the spans its own workers wrote, so an earlier run's
/// completions would all look unexplained: better to say so before starting.
fn refuse_used_store(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(WORK_CLAIMS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let items = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(items)) => items.len(),
        // Unreadable state is the store audit's to describe; the run will report it.
        _ => return Ok(()),
    };
    if items > 0 {
        anyhow::bail!(
            "--store file:{}: the directory already holds {items} work items from an earlier \
             run, whose completions this run's spans cannot explain; use an empty directory",
            dir.display()
        );
    }
    Ok(())
}

/// Runs the split swarm, prints each worker and the merged figures, and judges them.
pub fn run_split(
    config: SwarmConfig,
    store: SplitStore,
    process_count: usize,
) -> anyhow::Result<ExitCode> {
    // A file store keeps the workers' span files beside its own; a database has no
    // directory, so they go to one of their own under the temporary directory (kept, for
    // their logs).
    let spans_dir = match &store {
        SplitStore::File(dir) => {
            refuse_used_store(dir)?;
            dir.join(SPANS_DIR)
        }
        SplitStore::Postgres(_) => std::env::temp_dir().join(format!(
            "swarmspec-split-{}-{}",
            std::process::id(),
            config.seed
        )),
    };
    let executable =
        std::env::current_exe().context("finding the swarmspec executable to start workers")?;
    let plan = SplitPlan {
        executable,
        store: store.clone(),
        spans_dir,
        process_count,
        config: config.clone(),
    };
    let finished = Arc::new(AtomicU64::new(0));
    let run = {
        let _bar = DelayedBar::start(
            Some(config.item_count as u64),
            Arc::clone(&finished),
            "items",
        );
        processes::run(&plan, &finished)
    }
    .with_context(|| format!("the split run failed (seed {})", config.seed))?;

    outln!(
        "swarm: {} agents in {process_count} processes, {} items, seed {}, store {}",
        config.agent_count,
        config.item_count,
        config.seed,
        run.store.label()
    );
    for worker in &run.workers {
        let status = match &worker.status {
            Ok(status) => status.to_string(),
            Err(reason) => reason.clone(),
        };
        outln!(
            "  worker {:>2}: pid {:>7}, {:>4} agents, {}, {}",
            worker.index,
            worker.pid,
            worker.agent_count,
            status,
            worker.ingest
        );
    }
    outln!(
        "run:   {:.3} s real, {} spans merged",
        run.wall.as_secs_f64(),
        run.evidence.spans.len()
    );
    outln!();
    print_latency_table(&run.evidence)?;
    let mut checks = swarm_checks(&run.evidence, &config);
    checks.push(run.workers_succeeded());
    checks.push(run.span_files_whole());
    checks.extend(run.store.history_checks(&run.evidence.spans, 0));
    judge(&checks, config.seed)
}
