//! Swarm measurements: throughput at each capture level, deterministic event rate, and the
//! memory probe a child process runs so each memory figure starts from a clean heap.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::limits::Sample;
use crate::error::{Error, Result};
use crate::swarm::{memory, Contention, Mode, Swarm, SwarmConfig};
use crate::telemetry::{Capture, CaptureLevel, OpKind};

/// The seed every benchmark swarm uses, so runs are comparable.
pub const BENCH_SEED: u64 = 42;

/// The shape of one benchmark swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SwarmShape {
    /// Agents.
    pub agent_count: usize,
    /// Items.
    pub item_count: usize,
    /// Worker threads (throughput mode).
    pub worker_threads: usize,
    /// How agents pick work.
    pub contention: Contention,
    /// Real clock or simulated.
    pub mode: Mode,
    /// What the capture keeps.
    pub level: CaptureLevel,
}

impl SwarmShape {
    pub(super) fn config(&self) -> SwarmConfig {
        let mut config = SwarmConfig::new(self.agent_count, self.item_count, BENCH_SEED);
        config.mode = self.mode;
        config.contention = self.contention;
        config.worker_threads = self.worker_threads;
        config
    }
}

/// Runs one swarm of `shape` and returns its claim rate and operation rate (agents' window,
/// throughput mode) or its event rate (every recorded operation except the untimed submits
/// per wall second, deterministic mode), with claim latency percentiles from the histogram.
pub fn swarm_once(shape: &SwarmShape) -> Result<Sample> {
    let capture = Arc::new(Capture::with_level(BENCH_SEED, shape.level));
    let swarm = Swarm::new(shape.config());
    let started = Instant::now();
    let outcome = swarm.run(Arc::clone(&capture))?;
    let wall_s = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let claims = capture.latencies().summary(OpKind::Claim);
    let operations = operation_count(&capture);
    let (rate_per_s, ops_per_s) = match shape.mode {
        Mode::Throughput => {
            let window_s = window_s(outcome.agents_duration_ns);
            let claims_per_s = claims.as_ref().map_or(0.0, |s| s.count as f64) / window_s;
            (claims_per_s, operations as f64 / window_s)
        }
        Mode::Deterministic => {
            let events_per_s = operations as f64 / wall_s;
            (events_per_s, events_per_s)
        }
    };
    // Real-clock latencies only: a deterministic run's are simulated.
    let real = shape.mode == Mode::Throughput;
    Ok(Sample {
        rate_per_s,
        ops_per_s: Some(ops_per_s),
        latency_ns_p50: claims.as_ref().filter(|_| real).map(|s| s.p50_ns),
        latency_ns_p99: claims.as_ref().filter(|_| real).map(|s| s.p99_ns),
    })
}

/// What one memory probe measured, printed by the child as one JSON line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Agents run.
    pub agent_count: usize,
    /// Items run.
    pub item_count: usize,
    /// Spans the capture retained (0 at the histogram level).
    pub span_count: u64,
    /// Resident memory before the swarm was built, bytes.
    pub rss_bytes_before: u64,
    /// Peak resident memory during the run (capture still held), bytes.
    pub rss_bytes_peak: u64,
    /// What the compact store says it holds, bytes (compact level only).
    pub store_bytes: Option<u64>,
    /// Coordination operations (all but submits) per second of the agents' window.
    #[serde(default)]
    pub ops_per_s: Option<f64>,
    /// Wall time of the swarm's run, building and submitting included, s.
    #[serde(default)]
    pub wall_s: Option<f64>,
}

impl Probe {
    /// Peak growth over the starting figure, bytes.
    pub fn growth_bytes(&self) -> u64 {
        self.rss_bytes_peak.saturating_sub(self.rss_bytes_before)
    }
}

/// Runs one throughput swarm of `agent_count` agents and `item_count` items at `level`, and
/// measures this process's memory around it. Meant for a fresh child process: a heap that
/// earlier runs grew would hide part of the growth.
pub fn memory_probe(agent_count: usize, item_count: usize, level: CaptureLevel) -> Result<Probe> {
    let before = memory::read().map_or(0, |rss| rss.current_bytes);
    // If the kernel refuses the reset, a fresh process's peak so far is its start-up, which
    // is below `before` anyway; the figure stays honest either way.
    memory::reset_peak();
    let capture = Arc::new(Capture::with_level(BENCH_SEED, level));
    let mut config = SwarmConfig::new(agent_count, item_count, BENCH_SEED);
    config.mode = Mode::Throughput;
    let started = Instant::now();
    let outcome = Swarm::new(config).run(Arc::clone(&capture))?;
    let wall_s = started.elapsed().as_secs_f64();
    // The peak is read before counting spans: counting SDK spans copies them.
    let peak = memory::read().map_or(0, |rss| rss.peak_bytes);
    let span_count = capture.span_count()? as u64;
    Ok(Probe {
        agent_count,
        item_count,
        span_count,
        rss_bytes_before: before,
        rss_bytes_peak: peak.max(before),
        store_bytes: capture.retained_span_bytes().map(|b| b as u64),
        ops_per_s: Some(operation_count(&capture) as f64 / window_s(outcome.agents_duration_ns)),
        wall_s: Some(wall_s),
    })
}

/// Every recorded operation but the untimed submits.
fn operation_count(capture: &Capture) -> u64 {
    let book = capture.latencies();
    OpKind::ALL
        .iter()
        .filter(|&&op| op != OpKind::Submit)
        .map(|&op| book.histogram(op).len())
        .sum()
}

/// The agents' window in seconds, never zero.
fn window_s(agents_duration_ns: u64) -> f64 {
    agents_duration_ns.max(1) as f64 / 1e9
}

/// The capture level's name on the probe's command line.
pub fn level_name(level: CaptureLevel) -> &'static str {
    match level {
        CaptureLevel::Histograms => "histograms",
        CaptureLevel::Spans => "spans",
        CaptureLevel::SpanData => "span-data",
    }
}

/// Parses a name `level_name` gives.
pub fn parse_level(text: &str) -> Option<CaptureLevel> {
    [
        CaptureLevel::Histograms,
        CaptureLevel::Spans,
        CaptureLevel::SpanData,
    ]
    .into_iter()
    .find(|&level| level_name(level) == text)
}

/// Runs `memory_probe` in a fresh `swarmspec` process (`exe bench --probe-agents …`) and
/// reads the one JSON line it prints.
pub fn memory_probe_in_child(
    exe: &std::path::Path,
    agent_count: usize,
    item_count: usize,
    level: CaptureLevel,
) -> Result<Probe> {
    let output = std::process::Command::new(exe)
        .args(["bench", "--probe-agents", &agent_count.to_string()])
        .args(["--probe-items", &item_count.to_string()])
        .args(["--probe-level", level_name(level)])
        .output()
        .map_err(|error| Error::Bench(format!("cannot start {}: {error}", exe.display())))?;
    if !output.status.success() {
        return Err(Error::Bench(format!(
            "memory probe of {agent_count} agents failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .map_err(|error| Error::Bench(format!("memory probe printed «{line}»: {error}")))
}
