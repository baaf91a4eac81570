//! `swarmspec verify --serve` and `swarmspec serve DIR`: the verify view in headless
//! Chromium (the running scenario, counts advancing, a planted double hold turning it red,
//! the deploy and compliance panels, links to the report files), the verdicts left as they
//! were by watching, and a finished run replayed from its files (history, trends, span
//! files checked like the live panel, report files served and nothing outside them).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cdp::Browser;
use super::live::{get, out_dir, require_chromium};

/// Scenarios the verify view is watched on: a swarm long enough to be seen running, a
/// double-hold check the blind-write mutant fails, a canary rolled back, and the four
/// compliance controls. The long swarm runs on a file store: a deterministic run on the
/// memory engine takes no wall time of its own (150 000 items took under a second once the
/// executor got faster, too short for the page's half-second samples to see it grow),
/// while every file-store call is real I/O, some seconds for these 400 items.
const FEATURE: &str = r#"Feature: Watched live
  Background:
    Given deterministic mode
    And seed 7

  Scenario: a long swarm finishes every item
    Given a swarm of 200 developer agents
    And 400 work items
    And the system under test is "file:long-store"
    When the swarm runs
    Then every submitted work item is completed

  Scenario: racing agents never hold an item twice
    Given a swarm of 64 developer agents
    And 2000 work items
    And the agents race for the same items
    When the swarm runs
    Then no work item was held by two agents at the same time

  Scenario: a bad canary is rolled back
    Given 100 client agents sending one request per second
    And a canary strategy with steps 5 % → 25 % → 100 %
    And version "v2" fails 30 % of requests
    When "v2" is deployed to production
    Then exactly 1 "deploy.run" span has "deploy.outcome" = "rolled_back"

  Scenario: the controls hold for a swarm
    Given a swarm of 20 developer agents
    And 40 work items
    When the swarm runs
    Then the compliance report, scanning "src", passes every control
"#;

/// A swarmspec child serving a view, and the URL it printed.
pub(super) struct Serving {
    child: Child,
    pub(super) url: String,
}

impl Serving {
    pub(super) fn start(args: &[&str], cwd: &Path, mutant: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_swarmspec"));
        command
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("SWARMSPEC_MUTANT")
            .env_remove("SWARMSPEC_SERVE_TOKEN");
        if let Some(mutant) = mutant {
            command.env("SWARMSPEC_MUTANT", mutant);
        }
        let mut child = command.spawn().expect("swarmspec runs");
        let stderr = child.stderr.take().expect("stderr piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("live view: http") {
                    let url = url.split('?').next().unwrap_or_default();
                    let _ = sender.send(format!("http{url}"));
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("the live view's URL on stderr");
        Self { child, url }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A features directory holding `FEATURE`, inside `dir`.
fn features(dir: &Path) -> PathBuf {
    let features = dir.join("features");
    std::fs::create_dir_all(&features).expect("features dir");
    std::fs::write(features.join("watched.feature"), FEATURE).expect("feature file");
    // Each watched run starts on an empty store, not on the last run's items.
    let _ = std::fs::remove_dir_all(features.join("long-store"));
    features
}

fn verify_args<'a>(features: &'a str, out: &'a str, history: &'a str) -> Vec<&'a str> {
    let ledger = concat!(env!("CARGO_MANIFEST_DIR"), "/claims.toml");
    vec![
        "verify",
        "--features",
        features,
        "--ledger",
        ledger,
        "--out",
        out,
        "--history",
        history,
    ]
}

/// What the test reads of the verify view.
const SUITE_STATE: &str = "JSON.stringify({\
    state: document.getElementById('suite-state').textContent,\
    done: +document.getElementById('suite-done').dataset.value,\
    failed: +document.getElementById('suite-failed').dataset.value,\
    panel: document.getElementById('suite-status').dataset.state,\
    running: document.getElementById('suite-running').textContent,\
    claims: document.querySelectorAll('#claims tbody tr').length,\
    claimsFinal: document.getElementById('claims-note').textContent.includes('final'),\
    reports: [...document.querySelectorAll('#suite-reports a')].map((a) => a.getAttribute('href')),\
    failedRow: [...document.querySelectorAll('#scenarios tr[data-status=failed]')].map((r) => r.textContent).join(' '),\
    rollback: (document.querySelector('[data-environment=production]') || {dataset: {}}).dataset.outcome || '',\
    restored: (document.querySelector('[data-rollback]') || {dataset: {}}).dataset.rollback || '',\
    batches: document.querySelectorAll('#deploys .batch').length,\
    controls: [...document.querySelectorAll('#controls [data-control]')].map((c) => c.dataset.state),\
    swarmShown: !document.getElementById('run-view').hidden,\
    swarmTitle: document.getElementById('swarm-title').textContent,\
    swarmOps: +(document.getElementById('ops-total').dataset.value || 0),\
    swarmLines: document.querySelectorAll('#ops-chart path').length,\
    swarmAgents: document.querySelectorAll('#agents tbody tr').length})";

fn read(browser: &mut Browser, expression: &str) -> Value {
    let text = browser.eval(expression);
    serde_json::from_str(text.as_str().unwrap_or("{}")).unwrap_or_default()
}

fn read_until(browser: &mut Browser, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let state = read(browser, SUITE_STATE);
        if done(&state) || Instant::now() > deadline {
            return state;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Watches one verify run of `FEATURE` to its end; returns the final read and the view.
fn watch_verify(chromium: &Path, dir: &Path, name: &str, mutant: Option<&str>) -> Value {
    let features = features(dir);
    let (out, history) = (dir.join(format!("out-{name}")), dir.join("history.jsonl"));
    let (features, out, history) = (
        features.display().to_string(),
        out.display().to_string(),
        history.display().to_string(),
    );
    let mut args = verify_args(&features, &out, &history);
    args.extend(["--serve", "--serve-linger", "60"]);
    let served = Serving::start(&args, dir, mutant);
    let mut browser = Browser::launch(chromium, &dir.join(format!("profile-{name}")));
    browser.open(&served.url);
    let running = read_until(&mut browser, Duration::from_secs(60), |s| {
        s["running"]
            .as_str()
            .is_some_and(|r| r.contains("long swarm"))
    });
    assert!(
        running["running"]
            .as_str()
            .is_some_and(|r| r.contains("Watched live › a long swarm")),
        "the running scenario was never shown: {running}"
    );
    assert_eq!(running["state"], "running", "{running}");
    // The running scenario's swarm is charted beside it: named, its agents tabled, its
    // operation rates drawn as lines, its operation count growing.
    let charted = read_until(&mut browser, Duration::from_secs(60), |s| {
        s["swarmLines"].as_u64() > Some(0) && s["swarmOps"].as_u64() > Some(0)
    });
    assert_eq!(charted["swarmShown"], true, "{charted}");
    assert!(
        charted["swarmTitle"]
            .as_str()
            .is_some_and(|t| t.contains("a long swarm") && t.contains("200 agents")),
        "{charted}"
    );
    assert!(charted["swarmAgents"].as_u64() >= Some(1), "{charted}");
    let first_ops = charted["swarmOps"].as_u64().unwrap_or(0);
    let grown = read_until(&mut browser, Duration::from_secs(60), |s| {
        s["swarmOps"].as_u64() > Some(first_ops) || s["swarmShown"] == false
    });
    assert!(grown["swarmOps"].as_u64() > Some(first_ops), "{grown}");
    let ended = read_until(&mut browser, Duration::from_secs(240), |s| {
        s["state"] == "run ended" && s["reports"].as_array().is_some_and(|r| !r.is_empty())
    });
    assert_eq!(ended["done"], 4, "{ended}");
    assert!(
        ended["claims"].as_u64() > Some(0) && ended["claimsFinal"] == true,
        "{ended}"
    );
    // The links the page shows serve the files verify wrote.
    let link = ended["reports"][0].as_str().unwrap_or_default().to_owned();
    assert_eq!(link, "/files/report.html", "{ended}");
    let (status, body) = get(&served.url, &link, None);
    assert!(status == 200 && body.contains("<html"), "{status}");
    std::fs::write(dir.join(format!("verify-{name}.png")), browser.screenshot()).expect("png");
    ended
}

// Proves the verify view in a real browser: the scenario running is named while it runs,
// the counts and claims reach the end with links to the report files that serve them, the
// deploy panel shows the canary rolled back to v1 batch by batch, the compliance panel
// shows the four controls passed; with the blind-write mutant planted the double-hold
// scenario is listed failed and the panel turns red, while without it nothing failed.
#[test]
fn verify_view_in_chromium() {
    let Some(chromium) = require_chromium() else {
        return;
    };
    let dir = out_dir("verify-view");
    let correct = watch_verify(&chromium, &dir, "correct", None);
    assert_eq!(correct["failed"], 0, "{correct}");
    assert_eq!(correct["panel"], "green", "{correct}");
    assert_eq!(correct["rollback"], "rolled_back", "{correct}");
    assert_eq!(correct["restored"], "v1", "{correct}");
    assert!(correct["batches"].as_u64() >= Some(1), "{correct}");
    assert_eq!(
        correct["controls"],
        serde_json::json!(["passed", "passed", "passed", "passed"]),
        "{correct}"
    );
    let broken = watch_verify(&chromium, &dir, "blind-write", Some("blind-write"));
    assert!(broken["failed"].as_u64() >= Some(1), "{broken}");
    assert_eq!(broken["panel"], "red", "{broken}");
    assert!(
        broken["failedRow"]
            .as_str()
            .is_some_and(|row| row.contains("never hold an item twice")),
        "{broken}"
    );
    eprintln!("screenshots in {}", dir.display());
}

/// Scenario names, statuses and verdicts of a report, and its claims' statuses.
fn verdicts_of(report: &Path) -> Value {
    let text = std::fs::read_to_string(report).expect("report.json");
    let report: Value = serde_json::from_str(&text).expect("json");
    let scenarios: Vec<Value> = report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| serde_json::json!([s["name"], s["status"], s["verdicts"]]))
        .collect();
    let claims: Vec<Value> = report["claims"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| serde_json::json!([c["id"], c["status"], c["observed"]]))
        .collect();
    serde_json::json!({ "scenarios": scenarios, "claims": claims })
}

fn run_ok(args: &[&str], cwd: &Path, mutant: Option<&str>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_swarmspec"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("SWARMSPEC_MUTANT");
    if let Some(mutant) = mutant {
        command.env("SWARMSPEC_MUTANT", mutant);
    }
    let output = command.output().expect("swarmspec runs");
    // A run with a planted mutant fails its checks on purpose; its files are still written.
    assert!(
        output.status.success() || mutant.is_some(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// Proves watching a verify run leaves its verdicts as they were (same scenarios, statuses,
// verdicts and claims with and without --serve), and that `swarmspec serve DIR` replays
// the runs: both listed in the history with their report pages, each claim's trend with a
// point per run, the newest run's scenarios, and span files checked like the live panel —
// a blind-write run's file red with double holds, a correct one's green. Files outside DIR
// and anything but GET are refused.
#[test]
fn watching_verify_changes_no_verdict_and_serve_replays() {
    let dir = out_dir("replay");
    let reports = dir.join("reports");
    let features = features(&dir).display().to_string();
    let ledger = concat!(env!("CARGO_MANIFEST_DIR"), "/claims.toml");
    // The default --out (reports/<run id>) and --history (reports/history.jsonl), so the
    // history's run ids name the runs' directories as in a real reports tree.
    let verify = ["verify", "--features", &features, "--ledger", ledger];
    let run_dirs = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&reports)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs
    };
    run_ok(&verify, &dir, None);
    let plain = run_dirs();
    let mut watched_args = verify.to_vec();
    watched_args.extend(["--serve", "--serve-linger", "0"]);
    run_ok(&watched_args, &dir, None);
    let watched: Vec<PathBuf> = run_dirs()
        .into_iter()
        .filter(|d| !plain.contains(d))
        .collect();
    assert_eq!(
        (plain.len(), watched.len()),
        (1, 1),
        "{plain:?} {watched:?}"
    );
    assert_eq!(
        verdicts_of(&plain[0].join("report.json")),
        verdicts_of(&watched[0].join("report.json")),
        "watching changed a verdict"
    );
    for (name, mutant) in [
        ("correct.spans", None),
        ("blind.spans", Some("blind-write")),
    ] {
        let path = reports.join(name).display().to_string();
        let args = [
            "run",
            "--mode",
            "deterministic",
            "--contention",
            "high",
            "--agents",
            "64",
            "--items",
            "2000",
            "--spans-out",
            &path,
        ];
        run_ok(&args, &dir, mutant);
    }
    let reports_s = reports.display().to_string();
    let served = Serving::start(&["serve", &reports_s, "--for", "120"], &dir, None);
    let (status, body) = get(&served.url, "/api/snapshot", None);
    assert_eq!(status, 200);
    let json = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let snap: Value = serde_json::from_str(json).expect("snapshot json");
    assert_eq!(snap["mode"], "replay");
    let runs = snap["history"]["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(runs.len(), 2, "{}", snap["history"]);
    let trends = snap["history"]["trends"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!trends.is_empty());
    assert!(trends
        .iter()
        .all(|t| t["points"].as_array().map(Vec::len) == Some(2)));
    assert_eq!(snap["latest"]["done"], 4, "{}", snap["latest"]);
    let spans = snap["spans"].as_array().cloned().unwrap_or_default();
    let double_holds = |file: &str| {
        spans
            .iter()
            .find(|s| s["file"] == file)
            .map(|s| s["invariants"]["checks"][0]["offences"].as_u64())
    };
    assert!(double_holds("blind.spans") > Some(Some(0)), "{spans:?}");
    assert_eq!(double_holds("correct.spans"), Some(Some(0)));
    // Each run's report page, by the link the history lists; nothing outside DIR.
    let page = runs[0]["report"].as_str().unwrap_or_default().to_owned();
    let (status, body) = get(&served.url, &format!("/files/{page}"), None);
    assert!(status == 200 && body.contains("<html"), "{page}: {status}");
    for outside in [
        "/files/../features/watched.feature",
        "/files/%2e%2e/x.json",
        "/files/history.jsonl.exe",
    ] {
        assert_eq!(get(&served.url, outside, None).0, 404, "{outside}");
    }
    if let Some(chromium) = require_chromium() {
        let mut browser = Browser::launch(&chromium, &dir.join("profile"));
        browser.open(&served.url);
        let state = "JSON.stringify({ready: document.body.dataset.ready === '1',\
            runs: document.querySelectorAll('#runs tbody tr').length,\
            trendLines: document.querySelectorAll('#trends path').length,\
            scenarios: document.querySelectorAll('#scenarios tbody tr').length,\
            red: document.querySelectorAll('#spans-view section[data-state=red]').length,\
            green: document.querySelectorAll('#spans-view section[data-state=green]').length})";
        let deadline = Instant::now() + Duration::from_secs(20);
        let seen = loop {
            let seen = read(&mut browser, state);
            if seen["ready"] == true || Instant::now() > deadline {
                break seen;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(seen["runs"], 2, "{seen}");
        assert!(seen["trendLines"].as_u64() >= Some(1), "{seen}");
        assert_eq!(seen["scenarios"], 4, "{seen}");
        assert_eq!(
            (seen["red"].as_u64(), seen["green"].as_u64()),
            (Some(1), Some(1)),
            "{seen}"
        );
        std::fs::write(dir.join("replay.png"), browser.screenshot()).expect("png");
    }
}
