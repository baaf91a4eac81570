//! Systems under test other than the memory engine: the process protocol's failure modes at
//! the boundary (each a clear, located error), a swarm through `swarmspec serve-process`, and
//! the shipped coordination and resilience features against the file store and the correct
//! Python coordinator, with the racy one caught.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use swarmspec::coordination::{ClaimOutcome, Coordinator, Role, TeamId, WorkSpec};
use swarmspec::steps::{run_suite, SuiteOptions, SuiteOutcome};
use swarmspec::systems::process::{ProcessConfig, ProcessCoordinator};
use swarmspec::systems::SystemSpec;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A process config running `script` with `sh -c`, in a fresh directory.
fn shell_config(script: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sys.toml");
    let command = serde_json::to_string(&["sh", "-c", script]).expect("json");
    std::fs::write(&path, format!("command = {command}\n{extra}")).expect("write config");
    (dir, path)
}

fn start(path: &Path) -> swarmspec::error::Result<ProcessCoordinator> {
    ProcessCoordinator::start(ProcessConfig::load(path)?, 0, 1_000_000_000)
}

const HELLO_OK: &str = r#"{"in_reply_to":0,"type":"hello_ok","protocol":1,"supports":["register","submit","peek","claim","progress","complete"]}"#;

// Proves a child that prints garbage, exits at start, or never answers fails the start with
// the offending line, the exit and stderr, or the deadline.
#[test]
fn bad_children_fail_the_start_clearly() {
    let (_dir, garbage) = shell_config("read line; echo 'this is not json'; sleep 5", "");
    let error = start(&garbage).expect_err("garbage").to_string();
    assert!(
        error.contains("«this is not json»") && error.contains("stdout line 1"),
        "{error}"
    );

    let (_dir, exits) = shell_config("echo 'cannot open the database' >&2; exit 3", "");
    let error = start(&exits).expect_err("exits").to_string();
    assert!(error.contains("cannot open the database"), "{error}");

    let (_dir, silent) = shell_config("sleep 30", "start_timeout_ms = 300\n");
    let error = start(&silent).expect_err("silent").to_string();
    assert!(
        error.contains("no answer to hello within 300 ms"),
        "{error}"
    );

    let (_dir, missing) = shell_config(
        r#"read line; echo '{"in_reply_to":0,"type":"hello_ok","protocol":1,"supports":["claim"]}'; sleep 5"#,
        "",
    );
    let error = start(&missing).expect_err("missing calls").to_string();
    assert!(error.contains("does not support register"), "{error}");
}

// Proves garbage in the middle of a run fails the calls in flight as indefinite and is kept
// as a fault naming the line, and a child that stops answering times a call out.
#[test]
fn bad_answers_mid_run_are_faults() {
    let script =
        format!("read line; echo '{HELLO_OK}'; read line; echo 'oops, a log line'; sleep 5");
    let (_dir, path) = shell_config(&script, "");
    let child = start(&path).expect("handshake");
    let error = child
        .register_agent(Role::Developer, TeamId(0), 0)
        .expect_err("garbage answer");
    assert!(!error.is_definite(), "{error}");
    let (faults, _) = child.faults();
    assert!(
        faults.iter().any(|f| f.contains("«oops, a log line»")),
        "{faults:?}"
    );

    let script = format!("read line; echo '{HELLO_OK}'; sleep 30");
    let (_dir, path) = shell_config(&script, "call_timeout_ms = 200\n");
    let child = start(&path).expect("handshake");
    let error = child
        .register_agent(Role::Developer, TeamId(0), 0)
        .expect_err("no answer");
    assert!(
        error.to_string().contains("within 200 ms") && !error.is_definite(),
        "{error}"
    );
}

// Proves a malformed config is refused by `verify --system` at its file and line, before
// anything runs.
#[test]
fn malformed_config_is_located() {
    let (_dir, path) = shell_config("true", "call_timeout_ms = \"soon\"\n");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_swarmspec"))
        .args(["verify", "--system"])
        .arg(format!("process:{}", path.display()))
        .output()
        .expect("run swarmspec");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("sys.toml:2:"), "{stderr}");
}

// Proves the client and `swarmspec serve-process` (the reference engine behind the
// protocol) agree: one winner per contested claim, answers matched under many callers.
#[test]
fn serve_process_answers_many_callers() {
    swarmspec::steps::set_executable(env!("CARGO_BIN_EXE_swarmspec"));
    let path = root().join("features/data/process/reference.toml");
    let child = Arc::new(start(&path).expect("serve-process starts"));
    let pipeline: Arc<[Role]> = vec![Role::Developer].into();
    let spec = || WorkSpec {
        work_type: "feature".into(),
        team: TeamId(0),
        pipeline: Arc::clone(&pipeline),
    };
    let items: Vec<_> = (0..200)
        .map(|_| child.submit(spec(), 0).expect("submit"))
        .collect();
    let winners: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (child, items) = (Arc::clone(&child), &items);
                scope.spawn(move || {
                    let me = child
                        .register_agent(Role::Developer, TeamId(0), 0)
                        .expect("register");
                    items
                        .iter()
                        .filter(|&&item| {
                            matches!(child.claim(me, item, 1), Ok(ClaimOutcome::Claimed { .. }))
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("caller")).sum()
    });
    assert_eq!(winners, items.len(), "exactly one winner per item");
    assert!(child.faults().0.is_empty(), "{:?}", child.faults());
}

/// Runs the shipped coordination and resilience features against `system` (only the
/// scenarios whose name contains `name`, when given).
pub fn shipped_against(
    system: SystemSpec,
    name: Option<&str>,
) -> (tempfile::TempDir, SuiteOutcome) {
    let dir = tempfile::tempdir().expect("temp dir");
    let features = dir.path().join("features");
    std::fs::create_dir_all(&features).expect("features dir");
    for name in ["coordination.feature", "resilience.feature"] {
        std::fs::copy(root().join("features").join(name), features.join(name)).expect("copy");
    }
    let options = SuiteOptions {
        features_dir: features,
        reports_dir: dir.path().join("reports"),
        quiet: true,
        system: Some(system),
        name: name.map(str::to_owned),
        // The one scenario that names the memory engine runs on it whatever the suite's
        // system; it is the memory suite's, and here only costs time. The 1 000-agent race
        // in which every agent scans the board itself is 2 million peeks: six minutes over
        // the protocol against Python, for nothing the 100-agent race does not show. The
        // real-clock performance scenario is a speed target, and a Python process sharing
        // two cores with the rest of the tests misses it by chance (857 ops/s in one CI
        // run): speed is `verify`'s and `bench`'s to judge, never a test's.
        tags: Some("not @reference-engine and not @scan-heavy and not @claim-performance".into()),
        ..SuiteOptions::default()
    };
    swarmspec::steps::set_executable(env!("CARGO_BIN_EXE_swarmspec"));
    let outcome = futures::executor::block_on(run_suite(&options)).expect("the suite runs");
    (dir, outcome)
}

pub fn failures(outcome: &SuiteOutcome) -> Vec<String> {
    use swarmspec::report::ScenarioStatus;
    outcome
        .scenarios
        .iter()
        .filter(|s| matches!(s.status, ScenarioStatus::Failed | ScenarioStatus::Skipped))
        .map(|s| format!("{}: {}", s.name, s.failure.clone().unwrap_or_default()))
        .collect()
}

// Proves the coordination and resilience features pass against the correct Python
// coordinator, with the scenarios it cannot run listed as not applicable, never passed.
#[test]
fn shipped_features_pass_against_the_correct_python_coordinator() {
    if !python_present() {
        return;
    }
    let config = root().join("features/data/process/correct.toml");
    let (_dir, outcome) = shipped_against(SystemSpec::Process(config), None);
    assert!(outcome.passed, "{:#?}", failures(&outcome));
    let inapplicable: Vec<_> = outcome
        .scenarios
        .iter()
        .filter(|s| s.status == swarmspec::report::ScenarioStatus::NotApplicable)
        .collect();
    assert!(
        !inapplicable.is_empty(),
        "the planted-defect scenario cannot apply"
    );
    assert!(inapplicable.iter().all(|s| s
        .failure
        .as_deref()
        .is_some_and(|f| f.contains("system process:"))));
    assert!(outcome
        .scenarios
        .iter()
        .all(|s| s.system.starts_with("process:")));
}

// Proves the shipped reaping and handoff scenarios pass against the file store. Only these
// two run: every file-store call is a locked, fsynced transaction, and the whole suite
// against it takes longer than CI can give (over ten minutes here).
#[test]
fn shipped_features_pass_against_the_file_store() {
    let stores = tempfile::tempdir().expect("stores dir");
    for name in ["claims are reaped and finished by others", "handed off pm"] {
        let system = SystemSpec::File(stores.path().to_path_buf());
        let (_dir, outcome) = shipped_against(system, Some(name));
        assert!(outcome.passed, "{name}: {:#?}", failures(&outcome));
        assert!(outcome
            .scenarios
            .iter()
            .all(|s| s.system.starts_with("file:")));
    }
}

// Proves the racy Python coordinator fails the shipped racing scenario on the double-hold
// check. Only that scenario runs: every claim of this coordinator sleeps, so the whole
// suite would take many minutes to say the same.
#[test]
fn shipped_features_catch_the_racy_python_coordinator() {
    if !python_present() {
        return;
    }
    let config = root().join("features/data/process/racy.toml");
    let race = "200 agents on every core race for the same items";
    let (_dir, outcome) = shipped_against(SystemSpec::Process(config), Some(race));
    assert!(!outcome.passed);
    let failed = failures(&outcome);
    assert!(
        failed.iter().any(|f| f.contains("overlapping holds")),
        "{failed:#?}"
    );
}

/// Whether python3 is here; absent, the Python tests skip loudly (CI makes that a failure).
pub fn python_present() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var_os("SWARMSPEC_REQUIRE_PROGRAMS").is_none(),
            "python3 is missing and SWARMSPEC_REQUIRE_PROGRAMS is set"
        );
        eprintln!("SKIPPED: python3 is not installed, so the Python coordinators cannot run");
    }
    found
}
