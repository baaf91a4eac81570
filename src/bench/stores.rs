//! The shared stores side by side (`bench --postgres URL`): the same spread-mode swarm on
//! the memory engine, on a file store and on PostgreSQL, at 1 and 8 processes × 100 and
//! 1000 agents, every commit durable; and `pgbench`'s conditional claim on the same server
//! in the same run, the database's own limit, which the postgres claim rate is a share of.
//!
//! Split runs go through `swarm::processes::run`, as `swarmspec run --processes` does:
//! the rate is taken over the parent's `swarm.run` span, which also covers starting the
//! worker processes, so a split row is a little below what its workers did at full speed.

use std::path::Path;
use std::sync::atomic::AtomicU64;

use serde::Serialize;

use super::swarm::{swarm_once, SwarmShape};
use super::{pgbench, repeat, BenchPlan, Stats};
use crate::error::{Error, Result};
use crate::evidence::{self, Evidence};
use crate::swarm::processes::{self, SplitPlan};
use crate::swarm::split_store::SplitStore;
use crate::swarm::{Contention, Mode};
use crate::systems::postgres::observer::Observer;
use crate::telemetry::{CaptureLevel, OpKind};

/// Processes × agents of every store row.
pub const SHAPES: [(usize, usize); 4] = [(1, 100), (1, 1000), (8, 100), (8, 1000)];

/// One store at one shape.
#[derive(Debug, Clone, Serialize)]
pub struct StoreRow {
    /// `memory`, `file` or `postgres`.
    pub store: &'static str,
    /// Worker processes (the memory engine runs in this one).
    pub processes: usize,
    /// Agents, split evenly over the processes.
    pub agents: usize,
    /// Items per run.
    pub items: usize,
    /// Claims per second.
    pub claims_per_s: Stats,
    /// Every coordination operation per second.
    pub ops_per_s: Stats,
    /// Median claim latency, ns.
    pub claim_p50_ns: Stats,
    /// 99th percentile claim latency, ns.
    pub claim_p99_ns: Stats,
    /// Overlapping holds found in the merged spans, summed over the runs.
    pub double_holds: u64,
    /// Median claims/s over pgbench's median claims/s (postgres rows, when pgbench ran).
    pub claims_to_pgbench: Option<f64>,
}

/// A target of the issue, judged from this run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The target, in words.
    pub target: String,
    /// Whether the measured figure meets it.
    pub met: bool,
    /// The figure it was judged on.
    pub measured: String,
}

/// Everything `bench --postgres` measured.
#[derive(Debug, Clone, Serialize)]
pub struct StoresReport {
    /// The server, password redacted.
    pub server: String,
    /// pgbench's conditional claim, transactions per second, `pgbench::CLIENTS` clients.
    pub pgbench_claims_per_s: Option<Stats>,
    /// Why there is no pgbench figure, when there is none.
    pub pgbench_missing: Option<String>,
    /// Every store row.
    pub rows: Vec<StoreRow>,
    /// The targets, each met or not.
    pub targets: Vec<Target>,
}

struct Sample {
    claims_per_s: f64,
    ops_per_s: f64,
    p50_ns: f64,
    p99_ns: f64,
    double_holds: u64,
}

fn from_evidence(evidence: &Evidence) -> Result<Sample> {
    let (claims_per_s, _, window_ns) =
        evidence::latency::throughput_ops_per_s(evidence, OpKind::Claim)
            .ok_or_else(|| Error::Bench("a split run left no swarm.run span".into()))?;
    let operations: u64 = evidence.latencies.summaries().iter().map(|s| s.count).sum();
    let claim = evidence
        .latencies
        .summary(OpKind::Claim)
        .ok_or_else(|| Error::Bench("a split run made no claim".into()))?;
    let holds = evidence::history::holds(&evidence.spans);
    Ok(Sample {
        claims_per_s,
        ops_per_s: operations as f64 / (window_ns as f64 / 1e9),
        p50_ns: claim.p50_ns as f64,
        p99_ns: claim.p99_ns as f64,
        double_holds: evidence::history::overlapping_holds(&holds).len() as u64,
    })
}

fn split_once(
    plan: &BenchPlan,
    exe: &Path,
    store: SplitStore,
    processes: usize,
    agents: usize,
) -> Result<Sample> {
    let scratch = crate::compliance::canary::ScratchDir::new()?;
    let store = match store {
        SplitStore::File(_) => SplitStore::File(scratch.path().join("store")),
        postgres => postgres,
    };
    let mut shape = shape(plan, agents);
    if matches!(store, SplitStore::File(_)) {
        shape.item_count = file_items(plan);
    }
    let split = SplitPlan {
        executable: exe.to_path_buf(),
        store,
        spans_dir: scratch.path().join("spans"),
        process_count: processes,
        config: shape.config(),
    };
    let run = processes::run(&split, &AtomicU64::new(0))?;
    if let Some(failed) = run
        .workers
        .iter()
        .find(|w| !matches!(&w.status, Ok(s) if s.success()))
    {
        return Err(Error::Bench(format!(
            "worker {} of a {processes}-process run failed; its log: {}",
            failed.index,
            failed.log_path.display()
        )));
    }
    from_evidence(&run.evidence)
}

/// Items of a file-store run: a quarter of the others. The file store rewrites its state
/// file under its lock on every operation, so a run costs the square of its items; at the
/// full size one row would take minutes. Each row says its items.
fn file_items(plan: &BenchPlan) -> usize {
    (plan.store_items / 4).max(1)
}

fn shape(plan: &BenchPlan, agents: usize) -> SwarmShape {
    SwarmShape {
        agent_count: agents,
        item_count: plan.store_items,
        worker_threads: plan.cores,
        contention: Contention::Spread,
        mode: Mode::Throughput,
        level: CaptureLevel::Spans,
    }
}

fn memory_once(plan: &BenchPlan, agents: usize) -> Result<Sample> {
    let sample = swarm_once(&shape(plan, agents))?;
    Ok(Sample {
        claims_per_s: sample.rate_per_s,
        ops_per_s: sample.ops_per_s.unwrap_or(0.0),
        p50_ns: sample.latency_ns_p50.unwrap_or(0) as f64,
        p99_ns: sample.latency_ns_p99.unwrap_or(0) as f64,
        double_holds: 0,
    })
}

fn stats(samples: &[Sample], pick: impl Fn(&Sample) -> f64) -> Result<Stats> {
    Stats::of(samples.iter().map(pick).collect()).ok_or_else(super::no_samples)
}

fn row(
    store: &'static str,
    processes: usize,
    agents: usize,
    items: usize,
    samples: &[Sample],
) -> Result<StoreRow> {
    Ok(StoreRow {
        store,
        processes,
        agents,
        items,
        claims_per_s: stats(samples, |s| s.claims_per_s)?,
        ops_per_s: stats(samples, |s| s.ops_per_s)?,
        claim_p50_ns: stats(samples, |s| s.p50_ns)?,
        claim_p99_ns: stats(samples, |s| s.p99_ns)?,
        double_holds: samples.iter().map(|s| s.double_holds).sum(),
        claims_to_pgbench: None,
    })
}

/// pgbench's claim on `spec`'s server, `plan.repeats` runs; `Err` says why there is none.
fn pgbench_reference(plan: &BenchPlan, spec: &str) -> std::result::Result<Stats, String> {
    let Some(binary) = pgbench::find() else {
        return Err("pgbench is not installed (it ships with PostgreSQL's client tools)".into());
    };
    let observer = Observer::connect(spec).map_err(|error| error.to_string())?;
    let schema = format!("swarmspec_pgbench_{}", std::process::id());
    let table = pgbench::ClaimTable::create(&observer, &schema).map_err(|e| e.to_string())?;
    let scratch =
        crate::compliance::canary::ScratchDir::new().map_err(|error| error.to_string())?;
    let seconds = if plan.quick { 2 } else { 5 };
    let mut samples = Vec::new();
    for _ in 0..plan.repeats {
        table.reset().map_err(|error| error.to_string())?;
        let tps = pgbench::claims_per_s(&binary, spec, &schema, seconds, scratch.path())
            .map_err(|error| error.to_string())?;
        samples.push(tps);
    }
    Stats::of(samples).ok_or_else(|| "no pgbench run".to_owned())
}

/// Measures every store row and the pgbench reference on the server `spec` names.
pub fn run(
    plan: &BenchPlan,
    exe: &Path,
    spec: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<StoresReport> {
    let server = crate::systems::postgres::url::redact(spec);
    let pgbench = pgbench_reference(plan, spec);
    progress(&match &pgbench {
        Ok(stats) => format!("pgbench conditional claim: {:.0} tps", stats.median),
        Err(why) => format!("pgbench skipped: {why}"),
    });
    let items = plan.store_items;
    let mut rows = Vec::new();
    for agents in [100, 1000] {
        let samples = repeat(plan.repeats, || memory_once(plan, agents))?;
        rows.push(row("memory", 1, agents, items, &samples)?);
        progress(&format!("memory engine, {agents} agents"));
    }
    let stores = [
        ("file", SplitStore::File(Default::default())),
        ("postgres", SplitStore::Postgres(spec.to_owned())),
    ];
    for (name, store) in stores {
        for (processes, agents) in SHAPES {
            let samples = repeat(plan.repeats, || {
                split_once(plan, exe, store.clone(), processes, agents)
            })?;
            let items = if name == "file" {
                file_items(plan)
            } else {
                items
            };
            let mut measured = row(name, processes, agents, items, &samples)?;
            if let (Ok(reference), "postgres") = (&pgbench, name) {
                measured.claims_to_pgbench =
                    Some(measured.claims_per_s.median / reference.median.max(f64::MIN_POSITIVE));
            }
            rows.push(measured);
            progress(&format!(
                "{name} store, {processes} processes × {agents} agents"
            ));
        }
    }
    let targets = targets(&rows, pgbench.as_ref().ok());
    Ok(StoresReport {
        server,
        pgbench_missing: pgbench.as_ref().err().cloned(),
        pgbench_claims_per_s: pgbench.ok(),
        rows,
        targets,
    })
}

/// The targets on 2 cores, each judged from the postgres rows of this run.
fn targets(rows: &[StoreRow], pgbench: Option<&Stats>) -> Vec<Target> {
    let postgres = |processes: usize| {
        rows.iter()
            .filter(move |r| r.store == "postgres" && r.processes == processes)
    };
    let mut targets = Vec::new();
    let best_ops = postgres(8).map(|r| r.ops_per_s.median).fold(0.0, f64::max);
    targets.push(Target {
        target: "at least 5000 coordination ops/s with 8 processes, durable".into(),
        met: best_ops >= 5000.0,
        measured: format!("{best_ops:.0} ops/s (best of the 8-process rows, medians)"),
    });
    let best_claims = postgres(8)
        .map(|r| r.claims_per_s.median)
        .fold(0.0, f64::max);
    if let Some(reference) = pgbench {
        let ratio = best_claims / reference.median.max(f64::MIN_POSITIVE);
        targets.push(Target {
            target: "claims at least 0.5 × pgbench's conditional claim".into(),
            met: ratio >= 0.5,
            measured: format!(
                "{best_claims:.0} claims/s = {ratio:.2} × pgbench's {:.0} tps",
                reference.median
            ),
        });
    }
    let doubles: u64 = postgres(8)
        .filter(|r| r.agents == 1000)
        .map(|r| r.double_holds)
        .sum();
    targets.push(Target {
        target: "0 double holds at 1000 agents × 8 processes".into(),
        met: doubles == 0 && postgres(8).any(|r| r.agents == 1000),
        measured: format!("{doubles} overlapping holds"),
    });
    let worst_p99 = rows
        .iter()
        .filter(|r| r.store == "postgres")
        .map(|r| r.claim_p99_ns.median)
        .fold(0.0, f64::max);
    targets.push(Target {
        target: "p99 claim below 20 ms".into(),
        met: worst_p99 > 0.0 && worst_p99 < 20e6,
        measured: format!(
            "{:.1} ms (worst postgres row, median of runs)",
            worst_p99 / 1e6
        ),
    });
    targets
}
