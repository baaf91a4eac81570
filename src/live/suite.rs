//! The live view of a verify run (`swarmspec verify --serve`): which scenario is running,
//! every finished scenario with its status and verdicts, the claims as the scenarios so far
//! decide them, the deploy and compliance panels of the latest scenario that had them, and
//! links to the report files once written.
//!
//! The suite runner tells the board when a scenario starts and hands it each finished
//! scenario's result (what the reports are made of, so the page and the reports agree);
//! the board never runs a check of its own. Bounded: the newest `ROWS_KEPT` scenarios are
//! kept whole, older ones only in the counts.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::controls::{self, ControlState};
use super::deploys::DeployPanel;
use super::series::Tick;
use super::{lock, LiveRun};
use crate::claims::{ClaimResult, Ledger, ScenarioMetrics};
use crate::compliance::secrets::SecretScanner;
use crate::report::ScenarioResult;

/// Finished scenarios kept whole.
pub const ROWS_KEPT: usize = 1_000;
/// Verdicts shown per scenario.
const VERDICTS_SHOWN: usize = 12;
/// The report files a verify run writes, linked once they exist.
pub const REPORT_FILES: [&str; 5] = [
    "report.html",
    "report.md",
    "report.json",
    "junit.xml",
    "verdicts.json",
];

/// One finished scenario on the page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScenarioRow {
    /// Feature name.
    pub feature: String,
    /// Scenario name.
    pub name: String,
    /// `file:line`.
    pub location: String,
    /// `passed`, `failed`, …
    pub status: String,
    /// Seed it ran with.
    pub seed: u64,
    /// How long it took, ms.
    pub duration_ms: f64,
    /// Its verdicts: (check, passed).
    pub verdicts: Vec<(String, bool)>,
    /// The first line of its failure, if it failed.
    pub failure: Option<String>,
}

/// A claim on the page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClaimRow {
    /// Ledger id.
    pub id: String,
    /// What it says.
    pub statement: String,
    /// `VERIFIED`, `REFUTED`, `UNVERIFIED`, `REGRESSION`, …
    pub status: String,
    /// Observed value and unit, if measured.
    pub observed: Option<String>,
    /// Expected bound.
    pub expected: String,
}

impl ClaimRow {
    fn of(claim: &ClaimResult) -> Self {
        Self {
            id: claim.id.clone(),
            statement: claim.statement.clone(),
            status: claim.status.as_str().to_owned(),
            observed: claim
                .observed
                .map(|value| format!("{} {}", crate::claims::format_value(value), claim.unit)),
            expected: format!("{} {}", claim.expected, claim.unit),
        }
    }
}

/// The swarm the running scenario drives, watched as `run --serve` watches one.
#[derive(Debug, Clone)]
struct WatchedSwarm {
    /// Counts the swarms watched so far: the page starts a fresh chart when it changes.
    generation: u64,
    /// The scenario that runs it.
    scenario: String,
    run: Arc<LiveRun>,
}

impl WatchedSwarm {
    /// The swarm's part of an event: its description, its latest state (the newest tick
    /// when one was just sampled) and, for a page that has just opened, every kept tick.
    fn json(&self, tick: Option<&Tick>, with_ticks: bool) -> serde_json::Value {
        let event: serde_json::Value =
            serde_json::from_str(&self.run.event_json(tick)).unwrap_or_default();
        let ticks = if with_ticks {
            self.run.ticks()
        } else {
            Vec::new()
        };
        serde_json::json!({
            "generation": self.generation,
            "scenario": self.scenario,
            "run": self.run.info(),
            "event": event,
            "ticks": ticks,
        })
    }
}

/// What is running now.
#[derive(Debug)]
struct Running {
    feature: String,
    name: String,
    location: String,
    since: Instant,
}

#[derive(Debug, Default)]
struct Board {
    rows: VecDeque<ScenarioRow>,
    counts: BTreeMap<String, usize>,
    running: Option<Running>,
    measured: Vec<ScenarioMetrics>,
    claims: Vec<ClaimRow>,
    claims_final: bool,
    deploy: Option<(String, DeployPanel)>,
    controls: Option<(String, Vec<ControlState>)>,
    reports_written: bool,
    ended: bool,
    swarm: Option<WatchedSwarm>,
    swarms_watched: u64,
}

/// The board one verify run fills and the live view reads.
#[derive(Debug)]
pub struct SuiteBoard {
    title: String,
    ledger: Option<Ledger>,
    reports_dir: PathBuf,
    started: Instant,
    scanner: SecretScanner,
    board: Mutex<Board>,
}

impl SuiteBoard {
    /// A board for a verify run titled `title`, deciding `ledger`'s claims as scenarios
    /// finish, writing its reports to `reports_dir`.
    pub fn new(title: String, ledger: Option<Ledger>, reports_dir: PathBuf) -> Self {
        Self {
            title,
            ledger,
            reports_dir,
            started: Instant::now(),
            scanner: SecretScanner::new(),
            board: Mutex::new(Board::default()),
        }
    }

    /// Where the run's report files go (the files the page links to).
    pub fn reports_dir(&self) -> &Path {
        &self.reports_dir
    }

    /// A scenario has started.
    pub fn started(&self, feature: &str, name: &str, location: String) {
        let mut board = lock(&self.board);
        // A scenario without a swarm of its own shows none, not the last one's.
        board.swarm = None;
        board.running = Some(Running {
            feature: feature.to_owned(),
            name: name.to_owned(),
            location,
            since: Instant::now(),
        });
    }

    /// The running scenario drives the swarm `run` watches: the page shows its agents and
    /// operation charts until the next scenario starts.
    pub fn watch_swarm(&self, run: Arc<LiveRun>) {
        let mut board = lock(&self.board);
        board.swarms_watched += 1;
        let scenario = board
            .running
            .as_ref()
            .map(|running| running.name.clone())
            .unwrap_or_default();
        board.swarm = Some(WatchedSwarm {
            generation: board.swarms_watched,
            scenario,
            run,
        });
    }

    /// `text` unless the secret scanner flags it (failures and evidence quote what the
    /// system under test said, which may hold a credential).
    fn scrub(&self, text: String) -> String {
        if self.scanner.scan_text("live", &text).findings.is_empty() {
            text
        } else {
            "[withheld: the secret scanner flagged this line]".into()
        }
    }

    /// A scenario has finished with `result`; `deploy` is the panel of its spans, if any.
    pub fn finished(&self, result: &ScenarioResult, deploy: Option<DeployPanel>) {
        let row = ScenarioRow {
            feature: result.feature.clone(),
            name: result.name.clone(),
            location: result.location.clone(),
            status: result.status.as_str().to_owned(),
            seed: result.seed,
            duration_ms: result.duration_ms,
            verdicts: result
                .verdicts
                .iter()
                .take(VERDICTS_SHOWN)
                .map(|v| (self.scrub(v.check.clone()), v.passed))
                .collect(),
            failure: result
                .failure
                .as_deref()
                .and_then(|text| text.lines().next())
                .map(|line| self.scrub(line.to_owned())),
        };
        let controls = controls::from_verdicts(&result.verdicts).map(|mut panel| {
            for control in &mut panel {
                control.observed = self.scrub(std::mem::take(&mut control.observed));
                for line in &mut control.evidence {
                    *line = self.scrub(std::mem::take(line));
                }
            }
            panel
        });
        let metrics = result.for_claims();
        let mut board = lock(&self.board);
        board.running = None;
        *board.counts.entry(row.status.clone()).or_default() += 1;
        if board.rows.len() == ROWS_KEPT {
            board.rows.pop_front();
        }
        board.rows.push_back(row);
        if let Some(panel) = deploy.filter(|panel| !panel.is_empty()) {
            board.deploy = Some((result.name.clone(), panel));
        }
        if let Some(panel) = controls {
            board.controls = Some((result.name.clone(), panel));
        }
        if let Some(ledger) = &self.ledger {
            board.measured.push(metrics);
            let decided = crate::claims::evaluate(ledger, &board.measured);
            board.claims = decided.iter().map(ClaimRow::of).collect();
        }
    }

    /// The run's final claims (with regressions marked against a baseline).
    pub fn decided(&self, claims: &[ClaimResult]) {
        let mut board = lock(&self.board);
        board.claims = claims.iter().map(ClaimRow::of).collect();
        board.claims_final = true;
    }

    /// The report files are written: the page links to them.
    pub fn reports_written(&self) {
        lock(&self.board).reports_written = true;
    }

    /// The run is over.
    pub fn end(&self) {
        let mut board = lock(&self.board);
        board.ended = true;
        board.running = None;
    }

    /// Whether the run is over.
    pub fn ended(&self) -> bool {
        lock(&self.board).ended
    }

    /// The board's state as one JSON event, sampling the watched swarm first (what the
    /// ticker publishes every `SAMPLE_EVERY`).
    pub fn tick_json(&self) -> String {
        let watched = lock(&self.board).swarm.clone();
        // Sampled outside the board's lock: sampling reads the swarm's histograms.
        let swarm = watched.map(|watched| {
            let tick = watched.run.sample();
            watched.json(tick.as_ref(), false)
        });
        self.event_with(swarm)
    }

    /// The board's state as one JSON event (for a page that has just opened: the watched
    /// swarm with every kept tick).
    pub fn event_json(&self) -> String {
        let watched = lock(&self.board).swarm.clone();
        self.event_with(watched.map(|watched| watched.json(None, true)))
    }

    fn event_with(&self, swarm: Option<serde_json::Value>) -> String {
        let board = lock(&self.board);
        let reports: Vec<&str> = if board.reports_written {
            REPORT_FILES
                .iter()
                .copied()
                .filter(|name| self.reports_dir.join(name).is_file())
                .collect()
        } else {
            Vec::new()
        };
        let event = serde_json::json!({
            "elapsed_s": self.started.elapsed().as_secs_f64(),
            "ended": board.ended,
            "counts": board.counts,
            "done": board.counts.values().sum::<usize>(),
            "running": board.running.as_ref().map(|r| serde_json::json!({
                "feature": r.feature,
                "name": r.name,
                "location": r.location,
                "for_s": r.since.elapsed().as_secs_f64(),
            })),
            "scenarios": board.rows,
            "claims": board.claims,
            "claims_final": board.claims_final,
            "deploy": board.deploy,
            "controls": board.controls,
            "reports": reports,
            "swarm": swarm,
        });
        event.to_string()
    }

    /// Everything the page needs when it opens.
    pub fn snapshot_json(&self) -> String {
        let latest: serde_json::Value =
            serde_json::from_str(&self.event_json()).unwrap_or_default();
        serde_json::json!({
            "mode": "suite",
            "suite": { "title": self.title },
            "latest": latest,
        })
        .to_string()
    }
}
