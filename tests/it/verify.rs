//! `swarmspec verify` end to end, in temporary directories: false claims are REFUTED with
//! the measured value, filtered-out evidence leaves claims UNVERIFIED, a better baseline makes
//! a REGRESSION, a malformed ledger names its line, and the HTML report renders in Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A throughput scenario tagged for claims, and a deterministic one tagged differently.
const FEATURE: &str = "Feature: probe
  @perf
  Scenario: fast claims
    Given throughput mode
    And a swarm of 50 developer agents
    And 500 work items
    When the swarm runs
    Then no work item was held by two agents at the same time

  @race @timeline
  Scenario: racing claims
    Given deterministic mode
    And a swarm of 20 developer agents
    And 40 work items
    And the agents race for the same items
    When the swarm runs
    Then no work item was held by two agents at the same time
";

fn claim(id: &str, metric: &str, comparator: &str, threshold: &str, tag: &str) -> String {
    format!(
        "[[claim]]\nid = \"{id}\"\nstatement = \"{id}\"\nmetric = \"{metric}\"\ncomparator = \"{comparator}\"\nthreshold = {threshold}\ntags = [\"{tag}\"]\n\n"
    )
}

struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    fn new(name: &str, ledger: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("swarmspec-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("features")).expect("temp dir");
        std::fs::write(dir.join("features/probe.feature"), FEATURE).expect("feature");
        std::fs::write(dir.join("claims.toml"), ledger).expect("ledger");
        Self { dir }
    }

    fn verify(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_swarmspec"))
            .current_dir(&self.dir)
            .args(["verify", "--out", "out"])
            .args(extra)
            .output()
            .expect("swarmspec runs")
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn claim_line<'a>(text: &'a str, id: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(id)).unwrap_or_default()
}

// Proves a planted false claim is REFUTED with the observed value, a true one VERIFIED, and
// the run fails; and that all four reports and the history are written.
#[test]
fn false_claim_is_refuted_with_observation() {
    let ledger = claim(
        "p99-one-ns",
        "work.claim.latency_ms_p99",
        "<",
        "0.000001",
        "perf",
    ) + &claim(
        "no-conflicts",
        "coordination.double_holds",
        "==",
        "0",
        "race",
    );
    let ws = Workspace::new("refuted", &ledger);
    let output = ws.verify(&[]);
    let text = stdout(&output);
    assert!(!output.status.success(), "{text}");
    let refuted = claim_line(&text, "p99-one-ns");
    assert!(
        refuted.contains("REFUTED") && refuted.contains(" ms"),
        "{refuted}"
    );
    assert!(
        claim_line(&text, "no-conflicts").contains("VERIFIED"),
        "{text}"
    );
    for file in ["report.json", "report.md", "junit.xml", "report.html"] {
        assert!(ws.path("out").join(file).is_file(), "{file} missing");
    }
    assert!(ws.path("reports/history.jsonl").is_file());
}

// Proves a claim whose scenarios were filtered out by --tags is UNVERIFIED (and the run still
// passes without --strict, fails with it).
#[test]
fn filtered_out_claim_is_unverified() {
    let ledger = claim("fast", "coordination.throughput_ops_s", ">", "1", "perf")
        + &claim(
            "no-conflicts",
            "coordination.double_holds",
            "==",
            "0",
            "race",
        );
    let ws = Workspace::new("unverified", &ledger);
    let output = ws.verify(&["--tags", "@race"]);
    let text = stdout(&output);
    assert!(claim_line(&text, "fast").contains("UNVERIFIED"), "{text}");
    assert!(output.status.success(), "{text}");
    let strict = ws.verify(&["--tags", "@race", "--strict"]);
    assert!(!strict.status.success());
}

// Proves a baseline with a better figure turns a VERIFIED claim into a REGRESSION and fails.
#[test]
fn better_baseline_is_a_regression() {
    let ledger = claim("fast", "coordination.throughput_ops_s", ">", "1", "perf");
    let ws = Workspace::new("regression", &ledger);
    let first = ws.verify(&[]);
    assert!(first.status.success(), "{}", stdout(&first));
    // Rewrite the recorded run as if it had been a thousand times faster.
    let history = std::fs::read_to_string(ws.path("reports/history.jsonl")).expect("history");
    let mut line: serde_json::Value =
        serde_json::from_str(history.lines().next().expect("a run")).expect("json");
    let observed = line["claims"][0]["observed"].as_f64().expect("observed");
    line["claims"][0]["observed"] = serde_json::json!(observed * 1000.0);
    std::fs::write(ws.path("reports/history.jsonl"), format!("{line}\n")).expect("write");
    let second = ws.verify(&["--baseline", "latest"]);
    let text = stdout(&second);
    assert!(claim_line(&text, "fast").contains("REGRESSION"), "{text}");
    assert!(!second.status.success());
}

// Proves malformed ledgers are refused with file, line and problem, before anything runs.
#[test]
fn malformed_ledger_names_line() {
    let cases = [
        (
            claim("x", "vibes", "<", "1", "perf"),
            "claims.toml:4: unknown metric «vibes»",
        ),
        (
            claim("x", "coordination.double_holds", "about", "1", "perf"),
            "claims.toml:5: bad comparator",
        ),
        (
            "[[claim]]\nid = \"x\"\nthreshold = = 1\n".to_owned(),
            "claims.toml:3:",
        ),
    ];
    for (ledger, expected) in cases {
        let ws = Workspace::new("malformed", &ledger);
        let output = ws.verify(&[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(
            stderr.contains(expected),
            "expected «{expected}» in {stderr}"
        );
        assert!(
            !ws.path("out").exists(),
            "no report for a run that never started"
        );
    }
}

pub(crate) fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// How every browser test starts Chromium: headless, as root, and without the background
/// connections this machine's closed network refuses.
pub(crate) const HEADLESS_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

pub(crate) fn headless(browser: &Path, profile: &Path, args: &[&str]) -> Output {
    Command::new(browser)
        .args(HEADLESS_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

// Proves report.html renders in a real browser: the DOM Chromium builds has the claims table
// and the SVG charts, and a screenshot is drawn. Skipped where Chromium is absent, unless
// SWARMSPEC_REQUIRE_CHROMIUM is set (CI installs Chromium and sets it).
#[test]
fn html_report_renders_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SWARMSPEC_REQUIRE_CHROMIUM").is_none(),
            "Chromium is required but absent"
        );
        eprintln!("skipped: no Chromium on this machine");
        return;
    };
    let ledger = claim(
        "no-conflicts",
        "coordination.double_holds",
        "==",
        "0",
        "race",
    );
    let ws = Workspace::new("html", &ledger);
    assert!(ws.verify(&[]).status.success());
    let page = ws.path("out/report.html");
    let url = format!("file://{}", page.display());
    let profile = ws.path("chromium-profile");
    let dom = headless(&browser, &profile, &["--dump-dom", &url]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    for needle in [
        "id=\"claims\"",
        "id=\"latency-charts\"",
        "id=\"throughput-chart\"",
        "id=\"timeline\"",
        "<svg",
        "<rect",
    ] {
        assert!(dom_text.contains(needle), "rendered DOM lacks {needle}");
    }
    let shot = ws.path("shot.png");
    let screenshot = headless(
        &browser,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,1400",
            &url,
        ],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot of {size} bytes: {}",
        String::from_utf8_lossy(&screenshot.stderr)
    );
}

// Proves a seed replays to a byte-identical report body (everything but the run's id, time
// and machine line).
#[test]
fn seed_replays_to_identical_report() {
    let ledger = claim(
        "no-conflicts",
        "coordination.double_holds",
        "==",
        "0",
        "race",
    );
    let ws = Workspace::new("replay", &ledger);
    let body = |out: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_swarmspec"))
            .current_dir(&ws.dir)
            .args(["verify", "--seed", "9", "--tags", "@race", "--out", out])
            .output()
            .expect("swarmspec runs");
        assert!(output.status.success(), "{}", stdout(&output));
        let text = std::fs::read_to_string(ws.path(out).join("report.md")).expect("report.md");
        // The body lies between the header and the wall-clock durations.
        let body = text
            .split_once("\n\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        body.split("\n## Durations")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (first, second) = (body("first"), body("second"));
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

// Proves --seeds runs the suite once per seed and names the seeds it used.
#[test]
fn seeds_run_each_seed() {
    let ledger = claim(
        "no-conflicts",
        "coordination.double_holds",
        "==",
        "0",
        "race",
    );
    let ws = Workspace::new("seeds", &ledger);
    let output = ws.verify(&["--seeds", "3", "--seed", "40", "--tags", "@race"]);
    assert!(output.status.success(), "{}", stdout(&output));
    for seed in 40..43 {
        assert!(
            ws.path("out")
                .join(format!("seed-{seed}"))
                .join("junit.xml")
                .is_file(),
            "seed {seed}"
        );
    }
    let report = std::fs::read_to_string(ws.path("out/report.json")).expect("report");
    assert_eq!(
        report.matches("\"seed\": 41").count(),
        1,
        "one scenario ran with seed 41"
    );
}
