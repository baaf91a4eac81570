//! The command adapter against tools written the way people write them: claims that create
//! items, answers on stdout with exit code 0, busy locks, broken or huge states, calls killed
//! mid-way; and the CLI's listing of what it found.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use swarmspec::adapter::{self, history, AdapterConfig, AdapterRun, Outcome, RunPlan};
use swarmspec::telemetry::{Capture, OpKind};

fn swarmspec_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_swarmspec"))
}

/// Writes `config` (and `script`, as tool.sh) into a temp dir.
fn tool(script: &str, config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tool.sh"), script).expect("script");
    let path = dir.path().join("adapter.toml");
    std::fs::write(&path, config).expect("config");
    (dir, path)
}

fn drive(config: &Path, agents: usize, items: usize) -> AdapterRun {
    let config = AdapterConfig::load(config).expect("the config loads");
    let run_dir = tempfile::tempdir().expect("temp dir");
    let plan = RunPlan {
        agents,
        items,
        seed: 3,
        run_dir: run_dir.path().to_path_buf(),
        swarmspec: swarmspec_exe(),
    };
    adapter::run(&config, &plan, Arc::new(Capture::new(3))).expect("the adapter runs")
}

/// A tool that answers busy for the first two claims of each agent (counted in a file per
/// agent), then acknowledges; a state that lists every item completed.
const BUSY_THEN_OK: &str = r#"
case "$1" in
  claim)
    n=$(cat "$RUN/$AGENT.count" 2>/dev/null || echo 0); echo $((n+1)) > "$RUN/$AGENT.count"
    if [ "$n" -lt 2 ]; then echo "BUSY"; else echo "OK claimed id-$AGENT-$n"; fi ;;
  complete) echo "OK" ;;
  state) printf '[{"work_item_id":"%s","agent_id":"%s","status":"completed","progress":100}]' "$2" "$AGENT" ;;
esac
exit 0
"#;

const BUSY_CONFIG: &str = r#"
concurrency = 2
[env]
RUN = "{run_dir}"
[claim]
command = ["sh", "{dir}/tool.sh", "claim"]
creates_item = true
capture = "claimed (id-\\S+)"
env = { AGENT = "{agent_id}" }
ok = { stdout = "^OK" }
busy = { stdout = "^BUSY" }
[complete]
command = ["sh", "{dir}/tool.sh", "complete", "{work_item_id}"]
ok = { stdout = "^OK" }
[retry]
attempts = 3
backoff_ms = 1
[state]
file = "{run_dir}/none.json"
"#;

// Proves a busy refusal is retried per the policy (every attempt recorded), the id a claim
// creates is captured from its stdout, per-operation env reaches the tool, and a tool whose
// every call exits 0 is warned about.
#[test]
fn busy_claims_are_retried_and_created_ids_captured() {
    let (_dir, config) = tool(BUSY_THEN_OK, BUSY_CONFIG);
    let run = drive(&config, 1, 1);
    let claims: Vec<_> = run
        .operations
        .iter()
        .filter(|op| op.kind == OpKind::Claim)
        .collect();
    let outcomes: Vec<(Outcome, u32)> = claims.iter().map(|op| (op.outcome, op.attempt)).collect();
    assert_eq!(
        outcomes,
        vec![(Outcome::Busy, 1), (Outcome::Busy, 2), (Outcome::Ok, 3)],
        "{:#?}",
        run.operations
    );
    assert_eq!(claims[2].item.as_deref(), Some("id-agent-000-2"));
    assert_eq!(run.items, vec!["id-agent-000-2".to_owned()]);
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("every call exited 0; outcomes came from stdout rules only")),
        "{:?}",
        run.warnings
    );
    // One attempt fewer and the piece of work is abandoned, naming the busy refusals.
    let (_dir, config) = tool(
        BUSY_THEN_OK,
        &BUSY_CONFIG.replace("attempts = 3", "attempts = 2"),
    );
    let run = drive(&config, 1, 1);
    let verdict = adapter::breakage::every_item_finished(&run);
    assert!(!verdict.passed, "{verdict}");
    assert!(
        verdict.evidence.iter().any(|e| e.contains("busy")),
        "{verdict}"
    );
}

/// A tool that acknowledges everything and leaves its state empty.
const EMPTY_STATE: &str = r#"
case "$1" in
  init) : > "$RUN/state.json" ;;
  *) echo "OK" ;;
esac
exit 0
"#;

const EMPTY_CONFIG: &str = r#"
[env]
RUN = "{run_dir}"
[init]
command = ["sh", "{dir}/tool.sh", "init"]
[claim]
command = ["sh", "{dir}/tool.sh", "claim", "{agent_id}", "{work_item_id}"]
[progress]
command = ["sh", "{dir}/tool.sh", "progress"]
[complete]
command = ["sh", "{dir}/tool.sh", "complete"]
[state]
file = "{run_dir}/state.json"
"#;

// Proves an empty final state contradicts every acknowledged write, each named, counted per
// operation kind in the verdict, and grouped under the one root cause by the CLI, whose
// `--json` holds every finding and whose exit code is not 0.
#[test]
fn an_empty_state_names_every_acknowledged_write() {
    let (_dir, config) = tool(EMPTY_STATE, EMPTY_CONFIG);
    // One agent: a tool that acknowledges everything would give two agents one item each.
    let run = drive(&config, 1, 5);
    let lost = history::lost_updates(&run);
    let acknowledged = run
        .operations
        .iter()
        .filter(|op| op.acknowledged() && op.item.is_some())
        .count();
    assert_eq!(
        lost.len(),
        acknowledged,
        "every acknowledged write is contradicted"
    );
    let verdict = history::no_lost_updates(&run);
    assert!(
        verdict.observed.contains("5 lost claim")
            && verdict.observed.contains("5 lost progress")
            && verdict.observed.contains("5 lost completion"),
        "{verdict}"
    );

    let config_arg = format!("command:{}", config.display());
    let text = Command::new(swarmspec_exe())
        .args([
            "run",
            "--system",
            &config_arg,
            "--agents",
            "1",
            "--items",
            "5",
            "--limit",
            "2",
        ])
        .output()
        .expect("swarmspec runs");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("findings by kind: 5 lost claim, 5 lost completion, 5 lost progress"),
        "{stdout}"
    );
    assert!(
        stdout.contains("because the final state is unreadable (the state is empty): 5 of them"),
        "{stdout}"
    );
    assert!(stdout.contains("… and 3 more lost claim"), "{stdout}");

    let json = Command::new(swarmspec_exe())
        .args([
            "run",
            "--system",
            &config_arg,
            "--agents",
            "1",
            "--items",
            "5",
            "--json",
        ])
        .output()
        .expect("swarmspec runs");
    let document: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("--json prints one JSON document");
    assert_eq!(document["passed"], false);
    assert_eq!(
        document["findings"]["findings"].as_array().map(Vec::len),
        Some(15)
    );
    assert!(document["acknowledged_ops_per_s"]
        .as_f64()
        .is_some_and(|r| r > 0.0));
}

// Proves --spans-out writes the command system's spans (it was silently ignored), and the
// swarm's own options are refused for a command system rather than ignored.
#[test]
fn spans_out_works_and_swarm_options_are_refused_for_command_systems() {
    let (dir, config) = tool(EMPTY_STATE, EMPTY_CONFIG);
    let spans = dir.path().join("spans.jsonl");
    let config_arg = format!("command:{}", config.display());
    let spans_arg = spans.display().to_string();
    let _ = Command::new(swarmspec_exe())
        .args([
            "run",
            "--system",
            &config_arg,
            "--agents",
            "2",
            "--items",
            "2",
            "--spans-out",
            &spans_arg,
        ])
        .output()
        .expect("swarmspec runs");
    let written = std::fs::read_to_string(&spans).unwrap_or_default();
    assert!(
        written.contains("work.claim"),
        "no claim span in --spans-out: {written:.200}"
    );
    let refused = Command::new(swarmspec_exe())
        .args(["run", "--system", &config_arg, "--teams", "2"])
        .output()
        .expect("swarmspec runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--teams"));
    let listing = Command::new(swarmspec_exe())
        .args(["run", "--json"])
        .output()
        .expect("swarmspec runs");
    assert!(!listing.status.success());
    assert!(String::from_utf8_lossy(&listing.stderr).contains("need --store command:"));
}

// Proves a placeholder written inside quotes in a shell-string template is refused at load
// with the file, the line and the reason.
#[test]
fn quoted_placeholders_are_refused_at_load() {
    let config = "[claim]\ncommand = \"tool claim '{work_item_id}'\"\n[complete]\ncommand = \"tool done {work_item_id}\"\n[state]\nfile = \"x\"\n";
    let error = AdapterConfig::parse(config, Path::new("cfg/tool.toml"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.starts_with("cfg/tool.toml:2:"), "{error}");
    assert!(
        error.contains("inside single quotes") && error.contains("shell code"),
        "{error}"
    );
}

// Proves a state larger than [state] max_bytes is reported as such with both sizes, never
// cut short and misread as unparseable.
#[test]
fn an_oversized_state_is_reported_with_its_limit() {
    let script = "case \"$1\" in state) printf '[%s]' \"$(head -c 5000 /dev/zero | tr '\\0' ' ')\" ;; *) echo OK ;; esac\n";
    let config = EMPTY_CONFIG
        .replace(
            "[init]\ncommand = [\"sh\", \"{dir}/tool.sh\", \"init\"]\n",
            "",
        )
        .replace(
            "file = \"{run_dir}/state.json\"",
            "command = [\"sh\", \"{dir}/tool.sh\", \"state\"]\nmax_bytes = 1000",
        );
    let (_dir, config) = tool(script, &config);
    let run = drive(&config, 1, 1);
    let problem = run.state.entries.clone().err().unwrap_or_default();
    assert!(problem.contains("over the limit of 1000"), "{problem}");
}

// Proves a call killed mid-way by the fault injector is recorded as killed (its whole group
// gone), not as the system's failure.
#[test]
fn killed_calls_are_recorded_as_killed() {
    let script = "case \"$1\" in claim) sleep 5; echo OK ;; *) echo OK ;; esac\n";
    let config = format!(
        "{}\n[faults]\nkill_percent = 100\nkill_after_ms = 50\n",
        EMPTY_CONFIG.replace(
            "[init]\ncommand = [\"sh\", \"{dir}/tool.sh\", \"init\"]\n",
            ""
        )
    );
    let (_dir, config) = tool(script, &config);
    let started = std::time::Instant::now();
    let run = drive(&config, 1, 2);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        run.count(OpKind::Claim, Outcome::Killed),
        2,
        "{:#?}",
        run.operations
    );
    assert!(history::calls_served(&run)
        .observed
        .contains("2 killed on purpose"));
}
