//! Tests of one call: outcomes, timeouts, quoting, environment, process groups.

use super::*;

fn values() -> Values<'static> {
    let here = Path::new(".");
    Values::base(here, here, here)
}

fn launcher() -> Launcher {
    Launcher {
        cwd: std::env::temp_dir(),
        env: vec![("ADAPTER_TEST".into(), "from-env".into())],
    }
}

fn op(line: &str, timeout_ms: u64) -> OpSpec {
    OpSpec {
        command: CommandTemplate::Shell(line.into()),
        ok: Rule {
            exit: Some(vec![0]),
            stdout: None,
        },
        conflict: Some(Rule {
            exit: Some(vec![3]),
            stdout: None,
        }),
        busy: Some(Rule {
            exit: Some(vec![4]),
            stdout: None,
        }),
        capture: None,
        env: vec![("PER_CALL".into(), "agent={agent_id}".into())],
        timeout: Duration::from_millis(timeout_ms),
    }
}

// Proves exit codes map to ok / conflict / failed and the environment reaches the process.
#[test]
fn exit_codes_decide_the_outcome() {
    let values = values();
    let ok = launcher().call(&op("echo $ADAPTER_TEST", 5_000), &values);
    assert_eq!((ok.outcome, ok.stdout.trim()), (Outcome::Ok, "from-env"));
    let conflict = launcher().call(&op("exit 3", 5_000), &values);
    assert_eq!(conflict.outcome, Outcome::Conflict);
    let busy = launcher().call(&op("exit 4", 5_000), &values);
    assert_eq!(busy.outcome, Outcome::Busy);
    let per_call = Values {
        agent_id: Some("a-7"),
        ..values
    };
    let env = launcher().call(&op("echo $PER_CALL", 5_000), &per_call);
    assert_eq!(env.stdout.trim(), "agent=a-7");
    let failed = launcher().call(&op("echo oops >&2; exit 1", 5_000), &values);
    assert_eq!(failed.outcome, Outcome::Failed);
    assert!(failed
        .problem
        .is_some_and(|p| p.contains("code 1") && p.contains("oops")));
}

// Proves a call past its timeout is killed promptly and recorded as timed out.
#[test]
fn a_slow_call_times_out() {
    let started = Instant::now();
    let result = launcher().call(&op("exec sleep 5", 100), &values());
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

// Proves shell placeholders are quoted, so an id with spaces or quotes stays one word.
#[test]
fn shell_placeholders_are_quoted() {
    let values = Values {
        agent_id: Some("it's a b"),
        ..values()
    };
    let result = launcher().call(&op("printf '%s|' {agent_id}", 5_000), &values);
    assert_eq!(result.stdout, "it's a b|");
}

/// Whether process `pid` still runs (a zombie waiting for its reaper has stopped).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

// Proves a timed-out call kills the whole process group: a background child the shell
// started (which also holds stdout open) does not outlive the call.
#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("child.pid");
    let line = format!(
        "sleep 300 & echo $! > {}; wait",
        shell_quote(&pid_file.display().to_string())
    );
    let started = Instant::now();
    let result = launcher().call(&op(&line, 300), &values());
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let pid = std::fs::read_to_string(&pid_file).expect("the shell wrote the pid");
    let pid = pid.trim();
    let gone_by = Instant::now() + Duration::from_secs(2);
    while running(pid) && Instant::now() < gone_by {
        std::thread::sleep(Duration::from_millis(20));
    }
    let orphan = running(pid);
    if orphan {
        let _ = Command::new("kill").arg("-9").arg(pid).status();
    }
    assert!(
        !orphan,
        "the background child {pid} outlived the timed-out call"
    );
}
