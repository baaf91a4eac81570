//! The live view of a run (`swarmspec run --serve`): a self-contained page served over HTTP
//! while the swarm runs, updated by server-sent events.
//!
//! Watching must not change what is watched, so nothing here is pushed by agents. Agents
//! store one byte when their state changes (`agents.rs`); everything else is sampled from
//! what the run already records: the finished-items counter the progress bar reads, the
//! capture's latency histograms (`series.rs`), and snapshots of its spans checked by the
//! verdicts' own checks (`invariants.rs`). What the view holds is bounded: a fixed ring of
//! ticks, one byte per agent, and the latest invariant panel.

/// Agents' states, one byte each.
pub mod agents;
/// The compliance panel: the four controls as their verdicts decided them.
pub mod controls;
/// The deploy panel: each environment's pipeline, from its spans.
pub mod deploys;
/// Report files served read-only, secrets withheld.
pub mod files;
/// The live invariant panel.
/// The invariant checks read in steps: only new spans and the items they touched.
pub mod incremental;
pub mod invariants;
/// Faults on the timeline, from the spans' own times.
pub mod marks;
/// The HTML page.
mod page;
/// A finished run served from its files (`swarmspec serve DIR`).
pub mod replay;
/// The sampling threads.
mod sampler;
/// Rolling per-operation rates and percentiles.
pub mod series;
/// The HTTP server.
pub mod server;
/// The live view of a verify run.
pub mod suite;
/// A view of one swarm made from its configuration.
mod swarm_run;

pub use agents::{AgentState, LiveAgents};
pub use replay::Replay;
pub use sampler::SAMPLE_EVERY;
pub use server::{LiveServer, ServeOptions};
pub use suite::SuiteBoard;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;

use crate::telemetry::Capture;
use invariants::InvariantPanel;
use series::{Series, Tick};

/// What the page says about the run before any number moves.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// One line: agents, items, seed, mode, contention.
    pub title: String,
    /// Items the run will finish.
    pub total_items: u64,
    /// The faults the run was configured to inject, in words.
    pub faults: Vec<String>,
    /// Operation kinds, in the order of every tick's `ops`.
    pub op_kinds: Vec<&'static str>,
    /// Agent states, in the order of every group's counts.
    pub agent_states: Vec<&'static str>,
    /// The configured faults on the run's timeline.
    pub fault_windows: Vec<marks::FaultWindow>,
}

/// The view's mutable part, behind one lock the sampling threads take briefly.
#[derive(Debug, Default)]
struct ViewState {
    series: Series,
    panel: InvariantPanel,
}

/// One run as the live view sees it. The CLI builds it, hands `agents` to the swarm and the
/// capture once made, and ends it when the run is over.
#[derive(Debug)]
pub struct LiveRun {
    /// Written by the swarm's agents.
    pub agents: Arc<LiveAgents>,
    info: RunInfo,
    finished: Arc<AtomicU64>,
    capture: Mutex<Option<Arc<Capture>>>,
    state: Mutex<ViewState>,
    started: Instant,
    ended: AtomicBool,
    /// Snapshots checked after the end: the last one sees every span.
    checked_after_end: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a sampling thread leaves the view's numbers whole (each update replaces a
    // value), so keep showing them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LiveRun {
    /// A view of a run described by `title` and `faults`, counting `finished` out of
    /// `total_items`.
    pub fn new(
        title: String,
        total_items: u64,
        faults: Vec<String>,
        finished: Arc<AtomicU64>,
    ) -> Self {
        Self {
            agents: Arc::new(LiveAgents::new()),
            info: RunInfo {
                title,
                total_items,
                faults,
                op_kinds: crate::telemetry::OpKind::ALL
                    .iter()
                    .map(|op| op.span_name())
                    .collect(),
                agent_states: AgentState::ALL.iter().map(|s| s.as_str()).collect(),
                fault_windows: Vec::new(),
            },
            finished,
            capture: Mutex::new(None),
            state: Mutex::new(ViewState::default()),
            started: Instant::now(),
            ended: AtomicBool::new(false),
            checked_after_end: AtomicBool::new(false),
        }
    }

    /// The configured faults, to draw on the timeline.
    pub fn with_fault_windows(mut self, windows: Vec<marks::FaultWindow>) -> Self {
        self.info.fault_windows = windows;
        self
    }

    /// Gives the view the run's capture to sample.
    pub fn watch(&self, capture: Arc<Capture>) {
        *lock(&self.capture) = Some(capture);
    }

    /// Notes that the run is over: the next invariant check is the last.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Release);
    }

    /// Ends the run with its final panel checked on `spans`, the evidence the caller has
    /// already decoded for its own verdicts, so the view need not decode every span a
    /// second time beside it (at a million items that doubled `run --serve`'s wall time).
    /// A check the view's own thread was running meanwhile is discarded.
    pub fn end_with(&self, spans: &[crate::telemetry::SpanRecord]) {
        let scanner = crate::compliance::secrets::SecretScanner::new();
        let snapshots = lock(&self.state).panel.snapshots + 1;
        let panel = sampler::scrubbed(invariants::check(spans, snapshots), &scanner);
        let mut state = lock(&self.state);
        state.panel = panel;
        self.checked_after_end.store(true, Ordering::Release);
        self.ended.store(true, Ordering::Release);
    }

    /// Whether the run is over.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    fn capture(&self) -> Option<Arc<Capture>> {
        lock(&self.capture).clone()
    }

    /// Samples the capture into the next tick (none before the capture is given): the
    /// finished counter, the span count and every operation's latency histogram.
    pub(crate) fn sample(&self) -> Option<Tick> {
        let finished = self.finished.load(Ordering::Relaxed);
        self.capture().map(|capture| {
            capture.request_latencies();
            let book = capture.latencies();
            // A count of the shards' lengths, not a read of the spans.
            let spans = capture.span_count().unwrap_or(0);
            let t_s = self.started.elapsed().as_secs_f64();
            lock(&self.state).series.push(t_s, (finished, spans), book)
        })
    }

    /// Invariant snapshots checked so far (the latest panel's count).
    pub fn invariant_snapshots(&self) -> u64 {
        lock(&self.state).panel.snapshots
    }

    /// What the page says about this run before any number moves.
    pub(crate) fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Every kept tick, oldest first.
    pub(crate) fn ticks(&self) -> Vec<Tick> {
        lock(&self.state).series.ticks()
    }

    /// The latest state as one JSON event: the newest tick, agent counts, the panel.
    pub fn event_json(&self, tick: Option<&Tick>) -> String {
        let state = lock(&self.state);
        let event = LiveEvent {
            elapsed_s: self.started.elapsed().as_secs_f64(),
            finished: self.finished.load(Ordering::Relaxed),
            ended: self.ended(),
            final_check: self.checked_after_end.load(Ordering::Acquire),
            agents: self.agents.counts(),
            tick,
            invariants: &state.panel,
        };
        serde_json::to_string(&event).unwrap_or_else(|_| "{}".into())
    }

    /// Everything the page needs when it opens: the run, every kept tick, the latest event.
    pub fn snapshot_json(&self) -> String {
        let ticks = lock(&self.state).series.ticks();
        let latest = self.event_json(ticks.last());
        let snapshot = serde_json::json!({
            "mode": "run",
            "run": self.info,
            "ticks": ticks,
            "latest": serde_json::from_str::<serde_json::Value>(&latest).unwrap_or_default(),
        });
        snapshot.to_string()
    }
}

#[derive(Serialize)]
struct LiveEvent<'a> {
    elapsed_s: f64,
    finished: u64,
    ended: bool,
    final_check: bool,
    agents: Vec<agents::GroupCounts>,
    tick: Option<&'a Tick>,
    invariants: &'a InvariantPanel,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordination::{Discipline, Mutant};
    use crate::swarm::{Contention, Mode, Swarm, SwarmConfig};
    use crate::telemetry::Capture;

    // Proves a run ended with the caller's evidence shows that evidence's final panel (red
    // on the blind-write mutant's double holds) and counts as checked after the end, so the
    // view's own thread does not decode every span again.
    #[test]
    fn ending_with_evidence_sets_the_final_panel() {
        let mut config = SwarmConfig::new(20, 60, 7);
        config.mode = Mode::Deterministic;
        config.contention = Contention::High;
        config.discipline = Discipline::Mutant(Mutant::BlindWrite);
        let capture = Arc::new(Capture::new(7));
        let _ = Swarm::new(config).run(Arc::clone(&capture));
        let spans = capture.spans().unwrap_or_default();
        let view = LiveRun::new("t".into(), 60, Vec::new(), Arc::new(AtomicU64::new(0)));
        assert!(!view.ended());
        view.end_with(&spans);
        assert!(view.ended());
        assert!(view.checked_after_end.load(Ordering::Acquire));
        let state = lock(&view.state);
        assert!(state.panel.red(), "{:?}", state.panel);
        assert_eq!(state.panel.spans_checked, spans.len());
        assert_eq!(state.panel.snapshots, 1);
    }
}
