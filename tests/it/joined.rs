//! A run whose workers join over the network: `swarmspec run --workers …` as the parent,
//! `swarmspec worker --join URL` processes on the loopback address as the hosts, every
//! span crossing OTLP/HTTP. Judged from the parent's printed verdicts, which come from the
//! spans that arrived and the shared store.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EXECUTABLE: &str = env!("CARGO_BIN_EXE_swarmspec");

/// A parent waiting for workers: its process and the URL it printed.
struct Parent {
    child: Child,
    url: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Parent {
    fn start(store: &str, arguments: &[&str]) -> Self {
        let mut child = Command::new(EXECUTABLE)
            .args(["run", "--store", store, "--seed", "3"])
            .args(arguments)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the parent starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("stderr readable") == 0 {
                let mut out = String::new();
                let _ = child.stdout.take().map(|mut s| s.read_to_string(&mut out));
                panic!("the parent printed no join URL:\n{seen}{out}");
            }
            seen.push_str(&line);
            if let Some(at) = line.find("--join ") {
                let rest = &line[at + "--join ".len()..];
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
        };
        let stderr = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            seen + &rest
        });
        Self { child, url, stderr }
    }

    /// Waits for the parent: whether it passed, and everything it printed.
    fn finish(mut self) -> (bool, String) {
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut out).expect("stdout readable");
        }
        let status = self.child.wait().expect("the parent ends");
        let err = self.stderr.join().unwrap_or_default();
        (status.success(), format!("{out}{err}"))
    }
}

fn worker(url: &str, extra: &[&str]) -> Child {
    worker_with_store(url, extra, None)
}

/// A worker given its own store URL (one with a password) through the environment.
fn worker_with_store(url: &str, extra: &[&str], store: Option<&str>) -> Child {
    let mut command = Command::new(EXECUTABLE);
    if let Some(store) = store {
        command.env("SWARMSPEC_STORE", store);
    }
    command
        .args(["worker", "--join", url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("a worker starts")
}

fn output_of(child: Child) -> (bool, String) {
    let output = child.wait_with_output().expect("the worker ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn file_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().join("store").display());
    (dir, store)
}

fn has(text: &str, needle: &str) {
    assert!(text.contains(needle), "no «{needle}» in:\n{text}");
}

/// Four workers joined through `swarmspec worker` on `store` (each given `worker_store`
/// when the parent's printed one lacks a password); the parent's output.
fn four_workers(store: &str, worker_store: Option<&str>) -> String {
    let parent = Parent::start(
        store,
        &[
            "--agents",
            "16",
            "--items",
            "160",
            "--workers",
            "4",
            "--join-timeout-s",
            "60",
        ],
    );
    let workers: Vec<Child> = (0..4)
        .map(|_| worker_with_store(&parent.url, &[], worker_store))
        .collect();
    for child in workers {
        let (ok, text) = output_of(child);
        assert!(ok, "a worker failed:\n{text}");
        has(&text, "spans sent");
    }
    let (passed, text) = parent.finish();
    assert!(passed, "{text}");
    text
}

// Proves four workers joined over loopback are each named with the spans that came from
// them, and the run is judged from the merged evidence and the store. A parent that judged
// only its own spans would see no claim at all and fail "every item finished".
#[test]
fn four_joined_workers_are_judged_together() {
    let (_dir, store) = file_store();
    let text = four_workers(&store, None);
    for n in 1..=4 {
        let line = text
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("worker-{n} ")))
            .unwrap_or_else(|| panic!("no line for worker-{n}:\n{text}"));
        assert!(line.contains("done"), "{line}");
        let received: u64 = line
            .split(", ")
            .find_map(|part| part.strip_suffix(" spans received"))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or_else(|| panic!("no span count in «{line}»"));
        assert!(received > 0, "worker-{n} sent nothing: {line}");
    }
    for needle in [
        "PASS every expected worker joined the run",
        "PASS every worker that joined finished cleanly",
        "PASS every finished worker's spans arrived over OTLP",
        "PASS every submitted work item is completed",
        "PASS no work item held by two agents at the same time",
        "was acknowledged to some process",
    ] {
        has(&text, needle);
    }
}

// Proves a worker that never joins is named, and the run goes on with those that did.
#[test]
fn a_worker_that_never_joins_is_named() {
    let (_dir, store) = file_store();
    let parent = Parent::start(
        &store,
        &[
            "--agents",
            "8",
            "--items",
            "40",
            "--workers",
            "alpha,beta",
            "--join-timeout-s",
            "2",
        ],
    );
    let (ok, text) = output_of(worker(&parent.url, &["--name", "alpha"]));
    assert!(ok, "{text}");
    let (passed, text) = parent.finish();
    assert!(!passed, "a missing worker must fail the run:\n{text}");
    has(&text, "FAIL every expected worker joined the run");
    has(&text, "worker «beta» never joined");
    has(&text, "PASS every submitted work item is completed");
}

// Proves a worker killed with SIGKILL mid-run is reported by name as gone silent, while
// the history checks still hold: nothing held twice, nothing acknowledged lost, every item
// finished by the survivors once its lease ran out.
#[test]
fn a_killed_worker_is_named_and_nothing_is_lost() {
    let (_dir, store) = file_store();
    let parent = Parent::start(
        &store,
        &[
            "--agents",
            "12",
            "--items",
            "1500",
            "--workers",
            "3",
            "--lease-ms",
            "1000",
            "--join-timeout-s",
            "60",
        ],
    );
    let mut victim = worker(&parent.url, &["--name", "worker-2"]);
    let others = [
        worker(&parent.url, &["--name", "worker-1"]),
        worker(&parent.url, &["--name", "worker-3"]),
    ];
    std::thread::sleep(Duration::from_millis(2_500));
    let still_running = victim.try_wait().expect("try_wait").is_none();
    victim.kill().expect("SIGKILL");
    let _ = victim.wait();
    for child in others {
        let (ok, text) = output_of(child);
        assert!(ok, "a surviving worker failed:\n{text}");
    }
    let (passed, text) = parent.finish();
    assert!(
        still_running,
        "the victim finished before the kill:\n{text}"
    );
    assert!(!passed, "a killed worker must fail the run:\n{text}");
    has(&text, "FAIL every worker that joined finished cleanly");
    has(&text, "worker «worker-2» on ");
    has(&text, "went silent");
    for needle in [
        "PASS no work item held by two agents at the same time",
        "PASS every submitted work item is completed",
        "PASS every acknowledged completion is in",
    ] {
        has(&text, needle);
    }
}

// Proves the join is guarded: a non-loopback listener without a token is refused before
// anything is submitted, and a worker with a wrong token, or one asking for a name the run
// does not expect, is refused with the reason.
#[test]
fn joining_is_guarded() {
    let (_dir, store) = file_store();
    let output = Command::new(EXECUTABLE)
        .args([
            "run",
            "--store",
            &store,
            "--workers",
            "2",
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    has(&String::from_utf8_lossy(&output.stderr), "--join-token");

    let parent = Parent::start(
        &store,
        &[
            "--agents",
            "4",
            "--items",
            "10",
            "--workers",
            "1",
            "--join-timeout-s",
            "3",
            "--join-token",
            "sesame",
        ],
    );
    let (ok, text) = output_of(worker(&parent.url, &["--join-token", "wrong"]));
    assert!(!ok);
    has(&text, "401");
    let (ok, text) = output_of(worker(
        &parent.url,
        &["--join-token", "sesame", "--name", "zed"],
    ));
    assert!(!ok);
    has(&text, "no worker named «zed» is expected");
    assert!(!text.contains("sesame"), "the token leaked:\n{text}");
    let (ok, text) = output_of(worker(&parent.url, &["--join-token", "sesame"]));
    assert!(ok, "{text}");
    let (passed, text) = parent.finish();
    assert!(passed, "{text}");
    assert!(!text.contains("sesame"), "the token leaked:\n{text}");
}

// Proves the same on PostgreSQL: four workers joined through `swarmspec worker` share the
// parent's schema (each told of it by its plan) and are judged against the completions the
// database holds.
#[test]
fn four_joined_workers_share_a_postgres_schema() {
    let Some(server) = crate::postgres::Throwaway::start() else {
        return;
    };
    let text = four_workers(&server.url, Some(&server.url));
    has(
        &text,
        "every acknowledged completion is in the completions of",
    );
}
