//! `swarmspec run --processes P`: one swarm split across OS processes sharing a file store,
//! judged from the merged spans of every process and from the store's files.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::Context as _;

use super::progress::DelayedBar;
use super::run::{judge, print_latency_table, swarm_checks};
use swarmspec::store::{acknowledged, audit};
use swarmspec::swarm::processes::{self, SplitPlan};
use swarmspec::swarm::SwarmConfig;

/// Runs the split swarm, prints each worker and the merged figures, and judges them.
pub fn run_split(
    config: SwarmConfig,
    dir: &Path,
    process_count: usize,
) -> anyhow::Result<ExitCode> {
    let executable =
        std::env::current_exe().context("finding the swarmspec executable to start workers")?;
    let plan = SplitPlan {
        executable,
        store_dir: dir.to_path_buf(),
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
        dir.display()
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
    checks.push(audit::no_anomalies(dir));
    checks.push(acknowledged::no_lost_completions(&run.evidence.spans, dir));
    checks.push(acknowledged::unexplained_completions_at_most(
        &run.evidence.spans,
        dir,
        0,
    ));
    judge(&checks, config.seed)
}
