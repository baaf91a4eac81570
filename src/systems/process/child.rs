//! One running child coordinator: its pipes, the requests in flight, and the threads that
//! read its stdout (responses, matched by id) and its stderr (kept for the report).
//!
//! Many callers share one child: each writes its request under the stdin lock and then waits
//! on its own channel, so requests pipeline and the child may answer in any order. A reader
//! that meets a line that is not a response records the line as a protocol fault and kills
//! the child, which fails every call in flight as *indefinite* (it may have applied).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::config::ProcessConfig;
use super::wire::{parse_response, Reply, Request};
use crate::error::{Error, Result};

/// Lines of the child's stderr kept for the report.
pub const STDERR_LINES_KEPT: usize = 40;
/// The longest stdout line quoted in an error, in characters.
const QUOTE_CHARS_MAX: usize = 200;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What went wrong at the boundary that the run did not cause on purpose, shared by every
/// incarnation of the child (a restart keeps the faults of the one before).
#[derive(Debug, Default)]
pub struct Faults {
    problems: Mutex<Vec<String>>,
    stderr: Mutex<VecDeque<String>>,
}

impl Faults {
    /// Records a problem (a misread answer, a child that exited by itself).
    pub fn record_problem(&self, problem: String) {
        lock(&self.problems).push(problem);
    }

    /// Every unexpected problem so far, in order.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.problems).clone()
    }

    /// The last lines the child (any incarnation) wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        lock(&self.stderr).iter().cloned().collect()
    }

    fn keep_stderr(&self, line: String) {
        let mut tail = lock(&self.stderr);
        if tail.len() == STDERR_LINES_KEPT {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

type Pending = Mutex<HashMap<u64, mpsc::SyncSender<Reply>>>;

/// A started child.
pub struct Live {
    pid: u32,
    process: Mutex<Child>,
    stdin: Mutex<Option<BufWriter<ChildStdin>>>,
    pending: Arc<Pending>,
    next_id: Arc<AtomicU64>,
    /// Set before swarmspec itself kills or closes the child, so its exit is no fault.
    expected_exit: Arc<AtomicBool>,
    /// Callers between asking for stdin and having written their line.
    writers_waiting: AtomicU64,
}

impl Live {
    /// Starts the child the config names, with its reader threads.
    pub fn spawn(config: &ProcessConfig, state_dir: &Path, faults: &Arc<Faults>) -> Result<Self> {
        let argv: Vec<String> = config
            .command
            .iter()
            .map(|part| config.substitute(part, state_dir))
            .collect::<Result<_>>()?;
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(&config.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &config.env {
            command.env(key, config.substitute(value, state_dir)?);
        }
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut process = command.spawn().map_err(|error| Error::System {
            system: config.path.display().to_string(),
            problem: format!("cannot start `{}`: {error}", argv.join(" ")),
        })?;
        let stdin = process
            .stdin
            .take()
            .map(|stdin| BufWriter::with_capacity(1 << 16, stdin));
        let stdout = process.stdout.take();
        let stderr = process.stderr.take();
        let live = Self {
            pid: process.id(),
            process: Mutex::new(process),
            stdin: Mutex::new(stdin),
            pending: Arc::default(),
            next_id: Arc::new(AtomicU64::new(0)),
            expected_exit: Arc::new(AtomicBool::new(false)),
            writers_waiting: AtomicU64::new(0),
        };
        if let Some(stderr) = stderr {
            let faults = Arc::clone(faults);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                    faults.keep_stderr(line);
                }
            });
        }
        if let Some(stdout) = stdout {
            let reader = Reader {
                pending: Arc::clone(&live.pending),
                next_id: Arc::clone(&live.next_id),
                expected_exit: Arc::clone(&live.expected_exit),
                faults: Arc::clone(faults),
                pid: live.pid,
            };
            std::thread::spawn(move || reader.run(stdout));
        }
        Ok(live)
    }

    /// Sends `request` and waits up to `deadline` for its answer.
    pub fn call(&self, request: &Request, deadline: Duration) -> Result<Reply> {
        let id = self.next_id.fetch_add(1, Ordering::AcqRel);
        let (tell, answer) = mpsc::sync_channel(1);
        lock(&self.pending).insert(id, tell);
        let mut line = request.to_line(id);
        line.push('\n');
        // Group flushing: a writer that sees others queued behind it leaves the flush to the
        // last of them, so a burst of calls costs one write to the pipe, not one each.
        self.writers_waiting.fetch_add(1, Ordering::AcqRel);
        let written = match lock(&self.stdin).as_mut() {
            Some(stdin) => {
                let wrote = stdin.write_all(line.as_bytes());
                let last = self.writers_waiting.fetch_sub(1, Ordering::AcqRel) == 1;
                wrote.and_then(|()| if last { stdin.flush() } else { Ok(()) })
            }
            None => {
                self.writers_waiting.fetch_sub(1, Ordering::AcqRel);
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
        };
        if let Err(error) = written {
            lock(&self.pending).remove(&id);
            // Never delivered: certainly not applied.
            return Err(Error::Unavailable(format!(
                "could not send {} to the child: {error}",
                request.name()
            )));
        }
        match answer.recv_timeout(deadline) {
            Ok(reply) => Ok(reply),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                lock(&self.pending).remove(&id);
                Err(Error::Indefinite(format!(
                    "no answer to {} within {} ms",
                    request.name(),
                    deadline.as_millis()
                )))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Indefinite(format!(
                "the child stopped with {} in flight",
                request.name()
            ))),
        }
    }

    fn signal(&self, signal: libc::c_int) {
        if let Ok(group) = libc::pid_t::try_from(self.pid) {
            // SAFETY: kill(2) with a process-group id this child leads (process_group(0));
            // it touches no memory of ours.
            unsafe {
                libc::kill(-group, signal);
            }
        }
    }

    /// Kills the child's process group with SIGKILL and reaps it.
    pub fn kill(&self) {
        self.expected_exit.store(true, Ordering::Release);
        self.signal(libc::SIGKILL);
        let _ = lock(&self.process).wait();
    }

    /// Stops (SIGSTOP) or resumes (SIGCONT) the child's process group.
    pub fn pause(&self, paused: bool) {
        self.signal(if paused { libc::SIGSTOP } else { libc::SIGCONT });
    }

    /// Closes stdin, gives the child a second to exit, then kills it.
    pub fn shut_down(&self) {
        self.expected_exit.store(true, Ordering::Release);
        lock(&self.stdin).take();
        for _ in 0..100 {
            if matches!(lock(&self.process).try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }

    /// The exit status, if the child has exited.
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        lock(&self.process).try_wait().ok().flatten()
    }
}

/// The stdout reader of one child.
struct Reader {
    pending: Arc<Pending>,
    next_id: Arc<AtomicU64>,
    expected_exit: Arc<AtomicBool>,
    faults: Arc<Faults>,
    pid: u32,
}

impl Reader {
    fn run(self, stdout: impl std::io::Read) {
        let mut lines = BufReader::new(stdout).lines();
        let mut number = 0usize;
        while let Some(Ok(line)) = lines.next() {
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let problem = match parse_response(&line) {
                Ok((id, reply)) => {
                    if id >= self.next_id.load(Ordering::Acquire) {
                        Some(format!("answers request {id}, which was never sent"))
                    } else {
                        // A reply after its deadline finds no caller: the call already
                        // failed as indefinite, so the late answer is dropped.
                        if let Some(tell) = lock(&self.pending).remove(&id) {
                            let _ = tell.send(reply);
                        }
                        None
                    }
                }
                Err(reason) => Some(reason),
            };
            if let Some(reason) = problem {
                if !self.expected_exit.load(Ordering::Acquire) {
                    self.faults.record_problem(format!(
                        "the child wrote a line that is not a protocol response (stdout line \
                         {number}: {reason}): «{}»",
                        quote(&line)
                    ));
                }
                self.expected_exit.store(true, Ordering::Release);
                if let Ok(group) = libc::pid_t::try_from(self.pid) {
                    // SAFETY: as in `Live::signal`.
                    unsafe {
                        libc::kill(-group, libc::SIGKILL);
                    }
                }
                break;
            }
        }
        let in_flight = {
            let mut pending = lock(&self.pending);
            let count = pending.len();
            pending.clear();
            count
        };
        if !self.expected_exit.load(Ordering::Acquire) {
            self.faults.record_problem(format!(
                "the child closed its stdout (exited?) with {in_flight} call(s) in flight"
            ));
        }
    }
}

fn quote(line: &str) -> String {
    let mut quoted: String = line.chars().take(QUOTE_CHARS_MAX).collect();
    if quoted.len() < line.len() {
        quoted.push('…');
    }
    quoted
}
