//! What `swarmspec run` prints after a swarm (one process or split): the conflict checks
//! every run answers, their verdicts with the seed to replay, the latency table, and the
//! determinism check's replay.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use swarmspec::evidence::{self, Evidence};
use swarmspec::swarm::{Mode, Swarm, SwarmConfig};
use swarmspec::telemetry::{Capture, OpKind};

/// The checks every swarm run answers: no double hold, one winning claim per item and
/// stage (again only after a reap or release: a worker that dies has its items reaped and
/// won by others), every item finished.
pub(super) fn swarm_checks(evidence: &Evidence, config: &SwarmConfig) -> Vec<evidence::Verdict> {
    vec![
        evidence::history::no_overlapping_holds(&evidence.spans),
        evidence::tenure::one_win_per_tenure(&evidence.spans),
        evidence::history::every_item_finished(&evidence.spans, config.pipeline.len() - 1),
    ]
}

/// Prints each verdict; the exit code fails if one did, naming the seed to replay.
pub(super) fn judge(checks: &[evidence::Verdict], seed: u64) -> anyhow::Result<ExitCode> {
    for verdict in checks {
        outln!("{verdict}");
    }
    Ok(if checks.iter().all(|v| v.passed) {
        ExitCode::SUCCESS
    } else {
        eprintln!("checks failed; replay with --seed {seed}");
        ExitCode::FAILURE
    })
}

/// Prints count, rate and latency percentiles per operation, measured from the evidence.
pub(super) fn print_latency_table(evidence: &Evidence) -> anyhow::Result<()> {
    outln!(
        "{:<16} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "operation",
        "count",
        "ops/s",
        "p50 µs",
        "p95 µs",
        "p99 µs",
        "max µs"
    );
    for summary in evidence.latencies.summaries() {
        let op = OpKind::from_span_name(summary.op).unwrap_or(OpKind::Claim);
        let rate = evidence::latency::throughput_ops_per_s(evidence, op).map_or(0.0, |r| r.0);
        let us = |ns: u64| ns as f64 / 1e3;
        outln!(
            "{:<16} {:>10} {:>12.0} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            summary.op,
            summary.count,
            rate,
            us(summary.p50_ns),
            us(summary.p95_ns),
            us(summary.p99_ns),
            us(summary.max_ns)
        );
    }
    outln!();
    Ok(())
}

/// Runs `config` once more and compares its spans with `first`, event by event.
pub(super) fn check_determinism(config: &SwarmConfig, first: &Evidence) -> anyhow::Result<()> {
    if config.mode != Mode::Deterministic {
        anyhow::bail!(
            "--check-determinism needs --mode deterministic: the real clock never replays"
        );
    }
    let capture = Arc::new(Capture::new(config.seed));
    Swarm::new(config.clone())
        .run(Arc::clone(&capture))
        .with_context(|| format!("the second run failed (seed {})", config.seed))?;
    let second = Evidence::from_capture(&capture).context("reading the second capture")?;
    match evidence::digest::first_divergence(&first.spans, &second.spans) {
        None => {
            outln!(
                "determinism: two runs with seed {} gave the same {} spans (digest {})",
                config.seed,
                first.spans.len(),
                evidence::digest::span_digest(&first.spans)
            );
            Ok(())
        }
        Some((index, left, right)) => anyhow::bail!(
            "seed {} is not deterministic: the runs diverge at event {index}:\n  first:  {left}\n  second: {right}",
            config.seed
        ),
    }
}
