//! The database faults of one run, done from a thread of swarmspec's own while the swarm
//! goes, and the counts the database checks read: restarts done, backends terminated
//! inside a transaction, and the server's rolled-back transactions over the run.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::database::{DatabaseFault, DatabaseReport, POSTGRES_RESTART};
use crate::systems::postgres::observer::Observer;

/// How long the coordinator's backends may take to leave once it is closed: they report
/// their statistics as they exit, and the rollback count is read after.
const BACKENDS_LEAVE: Duration = Duration::from_secs(10);
/// How long the observer keeps trying to reconnect after a restart.
const RECONNECT: Duration = Duration::from_secs(30);

/// What the fault thread hands back.
struct ThreadLog {
    observer: Option<Observer>,
    restarts: u32,
    dropped: u64,
    problems: Vec<String>,
}

/// The running fault thread of one run; `finish` once the coordinator is closed.
pub struct DatabaseDriver {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<ThreadLog>>,
    spec: String,
    application: String,
    rolled_back_before: u64,
}

impl DatabaseDriver {
    /// Connects the observer to the server `spec` names (before the run, so the rollback
    /// count starts clean) and starts doing `faults` as `finished` of `items` pass.
    pub fn start(
        spec: &str,
        application: &str,
        faults: Vec<DatabaseFault>,
        finished: Arc<AtomicU64>,
        items: usize,
    ) -> anyhow::Result<Self> {
        let observer = Observer::connect(spec)?;
        let rolled_back_before = observer.rolled_back()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (stopped, target, owned_spec) =
            (Arc::clone(&stop), application.to_owned(), spec.to_owned());
        let thread = std::thread::Builder::new()
            .name("swarmspec-db-faults".into())
            .spawn(move || {
                drive(
                    observer,
                    &owned_spec,
                    &target,
                    faults,
                    &finished,
                    items,
                    &stopped,
                )
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
            spec: spec.to_owned(),
            application: application.to_owned(),
            rolled_back_before,
        })
    }

    /// Stops the thread and counts the run's rollbacks; call it once the coordinator is
    /// closed. Returns the counts and what went wrong with the faults themselves.
    pub fn finish(mut self) -> (DatabaseReport, Vec<String>) {
        self.stop.store(true, Ordering::Release);
        let log = self.thread.take().and_then(|thread| thread.join().ok());
        let Some(mut log) = log else {
            let problem = "the database fault thread panicked".to_owned();
            return (DatabaseReport::default(), vec![problem]);
        };
        let observer = match log.observer.take() {
            Some(observer) => Ok(observer),
            None => Observer::connect(&self.spec),
        };
        let rolled_back = match observer {
            // A crash-restart resets the server's statistics: no count spans the run.
            _ if log.restarts > 0 => None,
            Ok(observer) => match observer.wait_until_gone(&self.application, BACKENDS_LEAVE) {
                Ok(true) => match observer.rolled_back() {
                    Ok(after) => Some(after.saturating_sub(self.rolled_back_before)),
                    Err(error) => {
                        log.problems.push(format!("counting rollbacks: {error}"));
                        None
                    }
                },
                Ok(false) => {
                    log.problems.push(format!(
                        "the coordinator's backends were still connected {} s after it closed",
                        BACKENDS_LEAVE.as_secs()
                    ));
                    None
                }
                Err(error) => {
                    log.problems.push(format!("counting backends: {error}"));
                    None
                }
            },
            Err(error) => {
                log.problems
                    .push(format!("reconnecting the observer: {error}"));
                None
            }
        };
        let report = DatabaseReport {
            restarts: log.restarts,
            dropped: log.dropped,
            rolled_back,
        };
        (report, log.problems)
    }
}

impl Drop for DatabaseDriver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The fault thread: waits for each fault's share of items, then does it.
fn drive(
    observer: Observer,
    spec: &str,
    application: &str,
    faults: Vec<DatabaseFault>,
    finished: &AtomicU64,
    items: usize,
    stop: &AtomicBool,
) -> ThreadLog {
    let mut log = ThreadLog {
        observer: Some(observer),
        restarts: 0,
        dropped: 0,
        problems: Vec::new(),
    };
    let due = |at: f64| finished.load(Ordering::Acquire) >= (at * items as f64).ceil() as u64;
    let mut waiting = faults;
    while !waiting.is_empty() && !stop.load(Ordering::Acquire) {
        let mut later = Vec::new();
        for fault in waiting {
            match fault {
                DatabaseFault::CrashRestart { at } if due(at) => {
                    match restart() {
                        Ok(()) => log.restarts += 1,
                        Err(problem) => log.problems.push(problem),
                    }
                    // The observer's connection died with the server.
                    log.observer = reconnect(spec, stop);
                }
                DatabaseFault::DropConnections { count, at } if due(at) => {
                    let killed = log
                        .observer
                        .as_ref()
                        .map(|observer| observer.terminate_in_transaction(application));
                    match killed {
                        Some(Ok(killed)) => log.dropped += killed,
                        Some(Err(error)) => log.problems.push(error.to_string()),
                        None => log.problems.push("no observer connection".into()),
                    }
                    if log.dropped < count && log.problems.is_empty() {
                        later.push(fault);
                    }
                }
                other => later.push(other),
            }
        }
        waiting = later;
        std::thread::sleep(Duration::from_millis(2));
    }
    log.problems.extend(waiting.iter().map(|fault| {
        format!("the planned database fault {fault:?} was not done in full: the run ended first")
    }));
    log
}

/// Runs the restart command; it returns once the server accepts connections again.
fn restart() -> Result<(), String> {
    let command = std::env::var(POSTGRES_RESTART)
        .map_err(|_| format!("{POSTGRES_RESTART} is not set: no way to restart the server"))?;
    let output = Command::new("sh")
        .args(["-c", &command])
        .output()
        .map_err(|error| format!("running {POSTGRES_RESTART} «{command}»: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "{POSTGRES_RESTART} «{command}» failed ({}): {}",
        output.status,
        stderr.trim()
    ))
}

fn reconnect(spec: &str, stop: &AtomicBool) -> Option<Observer> {
    let started = Instant::now();
    while started.elapsed() < RECONNECT && !stop.load(Ordering::Acquire) {
        if let Ok(observer) = Observer::connect(spec) {
            return Some(observer);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
