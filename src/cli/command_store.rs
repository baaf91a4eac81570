//! `swarmspec run --store command:CONFIG`: agents drive an external coordinator through its
//! command line (src/adapter), then the history checker judges what it acknowledged against
//! the state it ends in.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use swarmspec::adapter::{self, AdapterConfig, Outcome, RunPlan};
use swarmspec::evidence::{self, Evidence};
use swarmspec::telemetry::{Capture, OpKind};

/// Runs `agents` agents over `items` items against the system `config` describes.
pub fn run(config: &Path, agents: usize, items: usize, seed: u64) -> anyhow::Result<ExitCode> {
    let config = AdapterConfig::load(config)?;
    let plan = RunPlan {
        agents,
        items,
        seed,
        run_dir: adapter::scratch_dir("command"),
        swarmspec: std::env::current_exe().context("locating the swarmspec executable")?,
    };
    let capture = Arc::new(Capture::new(seed));
    let run = adapter::run(&config, &plan, Arc::clone(&capture))
        .with_context(|| format!("driving the system {} describes", config.path.display()))?;
    let evidence = Evidence::from_capture(&capture).context("reading the capture")?;

    outln!(
        "command adapter: {} agents, {} items, at most {} calls in flight, config {}",
        run.agents.len(),
        run.items.len(),
        run.concurrency,
        config.path.display()
    );
    outln!("state kept in {}", run.run_dir.display());
    outln!(
        "agents' calls: {:.1} ops/s over {:.3} s",
        run.agent_ops_per_s(),
        run.agents_duration_ns as f64 / 1e9
    );
    outln!();
    outln!(
        "{:<16} {:>7} {:>9} {:>7} {:>9} {:>10} {:>10} {:>10}",
        "operation",
        "ok",
        "conflict",
        "failed",
        "timed out",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    for kind in [
        OpKind::Register,
        OpKind::Submit,
        OpKind::Claim,
        OpKind::Progress,
        OpKind::Complete,
    ] {
        let Some(summary) = evidence.latencies.summary(kind) else {
            continue;
        };
        let ms = |ns: u64| ns as f64 / 1e6;
        outln!(
            "{:<16} {:>7} {:>9} {:>7} {:>9} {:>10.2} {:>10.2} {:>10.2}",
            summary.op,
            run.count(kind, Outcome::Ok),
            run.count(kind, Outcome::Conflict),
            run.count(kind, Outcome::Failed),
            run.count(kind, Outcome::TimedOut),
            ms(summary.p50_ns),
            ms(summary.p99_ns),
            ms(summary.max_ns)
        );
    }
    outln!();
    let mut verdicts = adapter::history::check(&run);
    verdicts.push(evidence::history::no_overlapping_holds(&evidence.spans));
    for verdict in &verdicts {
        outln!("{verdict}");
    }
    Ok(if verdicts.iter().all(|v| v.passed) {
        ExitCode::SUCCESS
    } else {
        eprintln!("the history checker found anomalies (seed {seed})");
        ExitCode::FAILURE
    })
}
