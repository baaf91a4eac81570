//! `swarmspec bench`: every performance figure in one run, each against the physical limit.
//!
//! The baseline is a raw compare-and-swap claim per item over the sequence a spread-mode
//! swarm walks (`limits`); every other throughput is printed as a ratio of it, so a figure
//! says how much of the machine the layer above the CAS costs. Each measurement is repeated
//! `BenchPlan::repeats` times and reported as median, min and max. Memory figures come from
//! fresh child processes (`swarm::memory_probe_in_child`), so one run's heap does not hide
//! the next one's growth.

/// Cost curves against agents and items (`--curves`).
pub mod curves;
/// The curves as log-log SVG charts in `bench.html`.
pub mod curves_html;
/// The raw CAS baseline and the engine without a swarm.
pub mod limits;
/// The same swarm with and without the live view attached.
pub mod live;
/// pgbench's conditional claim on the server under test: the database's own limit.
pub mod pgbench;
/// Round trips over the process protocol, to a Rust child and to the Python coordinator.
pub mod protocol;
/// The memory engine, file store and PostgreSQL side by side (`--postgres`).
pub mod stores;
/// Swarm runs at each capture level, and the memory probe.
pub mod swarm;

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::swarm::{Contention, Mode};
use crate::telemetry::CaptureLevel;
use limits::Sample;
use swarm::{Probe, SwarmShape};

/// Sizes of every measurement.
#[derive(Debug, Clone, Serialize)]
pub struct BenchPlan {
    /// The small version (`--quick`).
    pub quick: bool,
    /// Runs per measurement.
    pub repeats: usize,
    /// Threads for the baseline and engine; worker threads for the swarm.
    pub cores: usize,
    /// Items the baseline claims per run.
    pub baseline_items: usize,
    /// Items the engine claims per run.
    pub engine_items: usize,
    /// Agents in the throughput swarms.
    pub swarm_agents: usize,
    /// Items in the throughput swarms.
    pub swarm_items: usize,
    /// Items in the deterministic swarm (same agents).
    pub deterministic_items: usize,
    /// Agent counts of the memory probes (one item per agent).
    pub memory_agent_counts: Vec<usize>,
    /// Items of the span-cost probes (with `swarm_agents` agents).
    pub span_probe_items: usize,
    /// Items claimed and completed over the process protocol by a Rust child.
    pub protocol_items: usize,
    /// The same against the shipped Python coordinator (slower by nature).
    pub python_protocol_items: usize,
    /// Items per run of the store comparison (`--postgres`).
    pub store_items: usize,
    /// Items of the watched-and-not swarm. A million keeps the agents busy about a second
    /// on two cores, in which the checker (at most every half second) may run once or not
    /// at all: the snapshot counts say which. Two million were tried and held 11 GB, as
    /// each check decodes every span held.
    pub live_items: usize,
    /// Watched-and-not pairs: more than `repeats`, as the difference sought (5 %) is
    /// smaller than one run's noise.
    pub live_pairs: usize,
}

/// Runs per measurement: the issue asks for at least five.
pub const REPEATS: usize = 5;

impl BenchPlan {
    /// The full bench: well under five minutes on two cores.
    pub fn full(cores: usize) -> Self {
        Self {
            quick: false,
            repeats: REPEATS,
            cores,
            baseline_items: 4_000_000,
            engine_items: 1_000_000,
            swarm_agents: 100,
            swarm_items: 200_000,
            deterministic_items: 20_000,
            memory_agent_counts: vec![1_000, 10_000, 100_000],
            span_probe_items: 100_000,
            protocol_items: 100_000,
            python_protocol_items: 10_000,
            store_items: 2_000,
            live_items: 1_000_000,
            live_pairs: 15,
        }
    }

    /// The small version: a few seconds.
    pub fn quick(cores: usize) -> Self {
        Self {
            quick: true,
            baseline_items: 100_000,
            engine_items: 20_000,
            swarm_agents: 20,
            swarm_items: 5_000,
            deterministic_items: 1_000,
            memory_agent_counts: vec![100, 1_000],
            span_probe_items: 2_000,
            protocol_items: 2_000,
            python_protocol_items: 500,
            store_items: 200,
            live_items: 5_000,
            live_pairs: 3,
            ..Self::full(cores)
        }
    }
}

/// Median, min and max of repeated runs, with every sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Every run, in order.
    pub samples: Vec<f64>,
}

impl Stats {
    /// Statistics of `samples`; `None` if there are none.
    pub fn of(samples: Vec<f64>) -> Option<Self> {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = match sorted.len() {
            0 => return None,
            n if !n.is_multiple_of(2) => sorted[middle],
            _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            samples,
        })
    }
}

/// One throughput row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// Unit of `rate`.
    pub unit: &'static str,
    /// The rate.
    pub rate: Stats,
    /// Every coordination operation per second (claims, progress, completes, …).
    pub ops_rate: Option<Stats>,
    /// Median claim latency, ns (real clock only).
    pub latency_ns_p50: Option<Stats>,
    /// 99th percentile claim latency, ns (real clock only).
    pub latency_ns_p99: Option<Stats>,
    /// Median rate over the baseline's median rate.
    pub ratio_to_baseline: f64,
    /// The swarm measured, if it was a swarm.
    pub shape: Option<SwarmShape>,
}

/// Peak memory of one agent count.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRow {
    /// Agents (and items).
    pub agent_count: usize,
    /// Peak resident growth during the run, bytes.
    pub rss_bytes_growth: Stats,
    /// Peak resident memory of the process, bytes.
    pub rss_bytes_peak: Stats,
    /// Growth per agent, bytes.
    pub bytes_per_agent: Stats,
}

/// What one retained span costs at one capture level.
#[derive(Debug, Clone, Serialize)]
pub struct SpanCostRow {
    /// The level.
    pub level: CaptureLevel,
    /// Spans retained per run.
    pub span_count: u64,
    /// (peak growth at this level − peak growth with histograms only) / spans, bytes.
    pub bytes_per_span_rss: Stats,
    /// The compact store's own accounting / spans, bytes (compact level only).
    pub bytes_per_span_store: Option<Stats>,
}

/// Everything `bench` measured; written to `reports/bench.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The sizes used.
    pub plan: BenchPlan,
    /// Raw CAS claims: the physical limit.
    pub baseline: Row,
    /// Throughput rows: engine, swarm at each capture level, deterministic, scaling.
    pub rows: Vec<Row>,
    /// Peak memory per agent count.
    pub memory: Vec<MemoryRow>,
    /// Bytes per retained span per capture level.
    pub span_cost: Vec<SpanCostRow>,
    /// Wall time of the whole bench, s.
    pub wall_s: f64,
    /// Cost curves, when `--curves` asked for them.
    pub curves: Option<curves::CurvesReport>,
    /// The swarm with every span, watched by the live view and not (issue 17: at most 5 %
    /// slower watched).
    pub live_overhead: live::LiveOverhead,
}

fn stats_of(samples: &[Sample], pick: impl Fn(&Sample) -> Option<f64>) -> Option<Stats> {
    Stats::of(samples.iter().filter_map(pick).collect())
}

fn row(name: &str, unit: &'static str, samples: &[Sample], baseline: f64) -> Option<Row> {
    let rate = stats_of(samples, |s| Some(s.rate_per_s))?;
    Some(Row {
        name: name.to_owned(),
        unit,
        ratio_to_baseline: rate.median / baseline.max(f64::MIN_POSITIVE),
        rate,
        ops_rate: stats_of(samples, |s| s.ops_per_s),
        latency_ns_p50: stats_of(samples, |s| s.latency_ns_p50.map(|v| v as f64)),
        latency_ns_p99: stats_of(samples, |s| s.latency_ns_p99.map(|v| v as f64)),
        shape: None,
    })
}

fn repeat<T>(times: usize, mut once: impl FnMut() -> Result<T>) -> Result<Vec<T>> {
    (0..times).map(|_| once()).collect()
}

/// Runs every measurement of `plan`; `exe` is the `swarmspec` binary the memory probes run
/// as; `progress` hears each row as it is done.
pub fn run(plan: &BenchPlan, exe: &Path, progress: &mut dyn FnMut(&str)) -> Result<BenchReport> {
    let started = std::time::Instant::now();
    let cores = plan.cores;
    let baseline_samples = repeat(plan.repeats, || {
        Ok(limits::raw_cas_claims(plan.baseline_items, cores))
    })?;
    let name = format!("baseline: raw CAS claim, {cores} threads");
    let limit = stats_of(&baseline_samples, |s| Some(s.rate_per_s))
        .ok_or_else(no_samples)?
        .median;
    let baseline = row(&name, "claims/s", &baseline_samples, limit).ok_or_else(no_samples)?;
    progress(&name);
    let mut rows = Vec::new();
    let engine = repeat(plan.repeats, || {
        limits::engine_claims(plan.engine_items, cores)
    })?;
    let name = format!("engine: Coordinator claim+complete, {cores} threads");
    rows.extend(row(&name, "claims/s", &engine, limit));
    progress(&name);
    rows.extend(protocol_rows(plan, exe, limit, progress)?);
    let shape = |level, worker_threads, contention, mode, item_count| SwarmShape {
        agent_count: plan.swarm_agents,
        item_count,
        worker_threads,
        contention,
        mode,
        level,
    };
    let (spread, high) = (Contention::Spread, Contention::High);
    let (real, simulated) = (Mode::Throughput, Mode::Deterministic);
    let items = plan.swarm_items;
    let swarms = [
        (
            "swarm, histogram capture",
            "claims/s",
            shape(CaptureLevel::Histograms, cores, spread, real, items),
        ),
        (
            "swarm, every span (compact store)",
            "claims/s",
            shape(CaptureLevel::Spans, cores, spread, real, items),
        ),
        (
            "swarm, every span (OTel SpanData)",
            "claims/s",
            shape(CaptureLevel::SpanData, cores, spread, real, items),
        ),
        (
            "deterministic, every span",
            "events/s",
            shape(
                CaptureLevel::Spans,
                1,
                spread,
                simulated,
                plan.deterministic_items,
            ),
        ),
        (
            "scaling: histograms, 1 worker thread",
            "claims/s",
            shape(CaptureLevel::Histograms, 1, spread, real, items),
        ),
        (
            "scaling: histograms, contention high",
            "claims/s",
            shape(CaptureLevel::Histograms, cores, high, real, items),
        ),
    ];
    for (name, unit, shape) in swarms {
        let samples = repeat(plan.repeats, || swarm::swarm_once(&shape))?;
        rows.extend(row(name, unit, &samples, limit).map(|r| Row {
            shape: Some(shape),
            ..r
        }));
        progress(name);
    }
    let watched = shape(CaptureLevel::Spans, cores, spread, real, plan.live_items);
    let live_overhead = live::measure(&watched, plan.live_pairs)?;
    progress("swarm watched by the live view, and not");
    let memory = plan
        .memory_agent_counts
        .iter()
        .map(|&agents| {
            let probes = repeat(plan.repeats, || {
                swarm::memory_probe_in_child(exe, agents, agents, CaptureLevel::Spans)
            })?;
            progress(&format!("memory: {agents} agents"));
            memory_row(agents, &probes)
        })
        .collect::<Result<Vec<_>>>()?;
    let span_cost = span_costs(plan, exe, progress)?;
    Ok(BenchReport {
        plan: plan.clone(),
        baseline,
        rows,
        memory,
        span_cost,
        wall_s: started.elapsed().as_secs_f64(),
        curves: None,
        live_overhead,
    })
}

/// The process-protocol rows: a Rust child (`swarmspec serve-process`, the protocol's own
/// cost) and, when run from the repository, the shipped Python coordinator.
fn protocol_rows(
    plan: &BenchPlan,
    exe: &Path,
    limit: f64,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Row>> {
    let scratch = crate::compliance::canary::ScratchDir::new()?;
    let command = serde_json::to_string(&[exe.to_string_lossy().as_ref(), "serve-process"])
        .map_err(|error| crate::Error::Bench(error.to_string()))?;
    let rust = scratch.write("rust.toml", &format!("command = {command}\n"))?;
    let python = Path::new("features/data/process/correct.toml");
    let callers = protocol::CALLERS;
    let mut targets = vec![(
        format!("protocol: Rust child, {callers} callers"),
        rust,
        plan.protocol_items,
        false,
    )];
    if python.is_file() {
        targets.push((
            format!("protocol: Python coordinator, {callers} callers"),
            python.to_path_buf(),
            plan.python_protocol_items,
            true,
        ));
    } else {
        progress("protocol: Python coordinator skipped (run from the repository root)");
    }
    let mut rows = Vec::new();
    for (name, config, items, optional) in targets {
        // The Python row needs python3; a machine without it still gets every other row.
        let samples = match repeat(plan.repeats, || protocol::round_trips(&config, items)) {
            Ok(samples) => samples,
            Err(error) if optional => {
                progress(&format!("{name} skipped: {error}"));
                continue;
            }
            Err(error) => return Err(error),
        };
        rows.extend(row(&name, "claims/s", &samples, limit));
        progress(&name);
    }
    Ok(rows)
}

fn no_samples() -> crate::Error {
    crate::Error::Bench("a measurement produced no samples".into())
}

fn memory_row(agent_count: usize, probes: &[Probe]) -> Result<MemoryRow> {
    let of = |pick: &dyn Fn(&Probe) -> f64| {
        Stats::of(probes.iter().map(pick).collect()).ok_or_else(no_samples)
    };
    Ok(MemoryRow {
        agent_count,
        rss_bytes_growth: of(&|p| p.growth_bytes() as f64)?,
        rss_bytes_peak: of(&|p| p.rss_bytes_peak as f64)?,
        bytes_per_agent: of(&|p| p.growth_bytes() as f64 / agent_count as f64)?,
    })
}

fn span_costs(
    plan: &BenchPlan,
    exe: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<SpanCostRow>> {
    let probe = |level| {
        repeat(plan.repeats, || {
            swarm::memory_probe_in_child(exe, plan.swarm_agents, plan.span_probe_items, level)
        })
    };
    let without_spans = probe(CaptureLevel::Histograms)?;
    let mut rows = Vec::new();
    for level in [CaptureLevel::Spans, CaptureLevel::SpanData] {
        let probes = probe(level)?;
        let per_span = |p: &Probe, extra: f64| extra / p.span_count.max(1) as f64;
        let rss = probes
            .iter()
            .zip(&without_spans)
            .map(|(with, without)| {
                let extra = with.growth_bytes() as f64 - without.growth_bytes() as f64;
                per_span(with, extra)
            })
            .collect();
        let store = probes
            .iter()
            .filter_map(|p| p.store_bytes.map(|bytes| per_span(p, bytes as f64)))
            .collect();
        rows.push(SpanCostRow {
            level,
            span_count: probes.first().map_or(0, |p| p.span_count),
            bytes_per_span_rss: Stats::of(rss).ok_or_else(no_samples)?,
            bytes_per_span_store: Stats::of(store),
        });
        progress(&format!("span cost: {}", swarm::level_name(level)));
    }
    Ok(rows)
}
