//! `swarmspec run --store command:CONFIG` (or `--system`): agents drive an external
//! coordinator through its command line (src/adapter), then the history checker judges what
//! it acknowledged against the states it was seen in.
//!
//! Text output: the run, its rates (raw calls, acknowledged operations, finished items), the
//! table of outcomes per operation, each check's verdict in one line, then the findings
//! under the shared listing rule. `--json`: one document with all of it and every finding.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;
use swarmspec::adapter::{self, AdapterConfig, AdapterRun, Outcome, RunPlan};
use swarmspec::evidence::{self, Evidence, Verdict};
use swarmspec::findings::{Findings, KindCount};
use swarmspec::telemetry::otlp::RunAttributes;
use swarmspec::telemetry::OpKind;

use super::run::RunArgs;

/// The outcomes of one kind of operation and its latencies.
#[derive(Debug, Serialize)]
struct OperationRow {
    operation: &'static str,
    ok: usize,
    conflict: usize,
    busy: usize,
    failed: usize,
    timed_out: usize,
    killed: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Everything `--json` prints.
#[derive(Debug, Serialize)]
struct Document<'a> {
    config: &'a Path,
    state_kept_in: &'a Path,
    seed: u64,
    agents: usize,
    pieces_of_work: usize,
    calls: usize,
    calls_per_s: f64,
    acknowledged_ops_per_s: f64,
    items_finished_per_s: f64,
    agents_seconds: f64,
    warnings: &'a [String],
    operations: Vec<OperationRow>,
    passed: bool,
    verdicts: &'a [Verdict],
    finding_counts: Vec<KindCount>,
    findings: &'a Findings,
    when_it_broke: Option<String>,
}

const KINDS: [OpKind; 5] = [
    OpKind::Register,
    OpKind::Submit,
    OpKind::Claim,
    OpKind::Progress,
    OpKind::Complete,
];

fn rows(run: &AdapterRun, evidence: &Evidence) -> Vec<OperationRow> {
    let ms = |ns: u64| ns as f64 / 1e6;
    KINDS
        .iter()
        .filter_map(|&kind| {
            let summary = evidence.latencies.summary(kind)?;
            Some(OperationRow {
                operation: kind.span_name(),
                ok: run.count(kind, Outcome::Ok),
                conflict: run.count(kind, Outcome::Conflict),
                busy: run.count(kind, Outcome::Busy),
                failed: run.count(kind, Outcome::Failed),
                timed_out: run.count(kind, Outcome::TimedOut),
                killed: run.count(kind, Outcome::Killed),
                p50_ms: ms(summary.p50_ns),
                p99_ms: ms(summary.p99_ns),
                max_ms: ms(summary.max_ns),
            })
        })
        .collect()
}

/// Runs the agents `args` asks for against the system `config` describes.
pub fn run(config: &Path, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let config = AdapterConfig::load(config)?;
    let seed = args.seed;
    let plan = RunPlan {
        agents: args.agents,
        items: args.items,
        seed,
        run_dir: adapter::scratch_dir("command"),
        swarmspec: std::env::current_exe().context("locating the swarmspec executable")?,
    };
    let run_id = super::verify::run_id_now();
    let attributes = RunAttributes::new(seed, "command");
    let otlp = super::export::target(&args.otlp, &run_id)?;
    let (export, exports) = super::export::start(otlp.as_ref(), &attributes)?;
    let (capture, span_file) =
        super::run::capture_for(args, (&run_id, &attributes), otlp.as_ref(), exports)?;
    let run = adapter::run(&config, &plan, Arc::clone(&capture))
        .with_context(|| format!("driving the system {} describes", config.path.display()))?;
    if let Some(file) = &span_file {
        file.finish().context("writing the spans to --spans-out")?;
    }
    let evidence = Evidence::from_capture(&capture).context("reading the capture")?;
    let mut verdicts = adapter::history::check(&run);
    verdicts.push(evidence::history::no_overlapping_holds(&evidence.spans));
    let findings = adapter::history::findings(&run);
    let passed = verdicts.iter().all(|v| v.passed);
    let rows = rows(&run, &evidence);

    if args.listing.json {
        let document = Document {
            config: &config.path,
            state_kept_in: &run.run_dir,
            seed,
            agents: run.agents.len(),
            pieces_of_work: run.pieces,
            calls: run.operations.len(),
            calls_per_s: run.agent_ops_per_s(),
            acknowledged_ops_per_s: run.acknowledged_ops_per_s(),
            items_finished_per_s: run.items_finished_per_s(),
            agents_seconds: run.agents_duration_ns as f64 / 1e9,
            warnings: &run.warnings,
            operations: rows,
            passed,
            verdicts: &verdicts,
            finding_counts: findings.counts(),
            findings: &findings,
            when_it_broke: adapter::breakage::when_it_broke(&run),
        };
        outln!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print_text(&run, &rows, (&verdicts, &findings), &args.listing)?;
    }
    if let Some(export) = &export {
        super::export::print(&export.finish(&capture))?;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        eprintln!("the history checker found anomalies (seed {seed})");
        ExitCode::FAILURE
    })
}

fn print_text(
    run: &AdapterRun,
    rows: &[OperationRow],
    (verdicts, findings): (&[Verdict], &Findings),
    listing: &super::listing::ListingArgs,
) -> anyhow::Result<()> {
    outln!(
        "command adapter: {} agents, {} pieces of work{}, at most {} calls in flight, config {}",
        run.agents.len(),
        run.pieces,
        if run.claims_create_items {
            " (claims create the items)"
        } else {
            ""
        },
        run.concurrency,
        run.config_path.display()
    );
    outln!("state kept in {}", run.run_dir.display());
    outln!(
        "over {:.3} s: {:.1} calls/s, {:.1} acknowledged ops/s, {:.1} items finished/s",
        run.agents_duration_ns as f64 / 1e9,
        run.agent_ops_per_s(),
        run.acknowledged_ops_per_s(),
        run.items_finished_per_s()
    );
    for warning in &run.warnings {
        outln!("warning: {warning}");
    }
    outln!();
    outln!(
        "{:<14} {:>6} {:>8} {:>6} {:>6} {:>9} {:>6} {:>9} {:>9} {:>9}",
        "operation",
        "ok",
        "conflict",
        "busy",
        "failed",
        "timed out",
        "killed",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    for row in rows {
        outln!(
            "{:<14} {:>6} {:>8} {:>6} {:>6} {:>9} {:>6} {:>9.2} {:>9.2} {:>9.2}",
            row.operation,
            row.ok,
            row.conflict,
            row.busy,
            row.failed,
            row.timed_out,
            row.killed,
            row.p50_ms,
            row.p99_ms,
            row.max_ms
        );
    }
    outln!();
    for verdict in verdicts {
        let mark = if verdict.passed { "PASS" } else { "FAIL" };
        outln!("{mark} {}: {}", verdict.check, verdict.observed);
    }
    if let Some(broke) = adapter::breakage::when_it_broke(run) {
        outln!("{broke}");
    }
    if !findings.is_empty() {
        outln!();
        out!("{}", listing.render(findings));
    }
    // Unanswered calls are not findings about the state; they are shown with their verdict.
    for verdict in verdicts
        .iter()
        .filter(|v| !v.passed && v.check == "every call was answered")
    {
        let limit = listing.limit().unwrap_or(usize::MAX);
        for line in verdict.evidence.iter().take(limit) {
            outln!("  - {line}");
        }
        if verdict.evidence.len() > limit {
            outln!(
                "  … and {} more unanswered calls (--all shows every one)",
                verdict.evidence.len() - limit
            );
        }
    }
    Ok(())
}
