//! One process with a deadline, in a process group of its own, so a timeout kills all of it.
//!
//! A command is often a shell line, and a shell line may start children of its own (`a | b`,
//! `server &`). Killing only the direct child leaves those running as orphans, still
//! holding the pipes and the system under test, so the child is made the leader of a new
//! process group and a timeout signals the whole group. A process that leaves the group on
//! purpose (`setsid`) is beyond reach, as it would be for a terminal's Ctrl-C.
//!
//! The process's stdout and stderr are read on their own threads (so a chatty process never
//! blocks on a full pipe), and the caller waits on a channel with the deadline, not in a
//! polling loop: a call that finishes in 3 ms is seen to finish in 3 ms.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bytes of stdout kept per call: enough for a state file of a few thousand items, and a
/// bound on what one misbehaving process can make swarmspec hold.
pub const STDOUT_BYTES_MAX: usize = 8 << 20;
/// Bytes of stderr kept per call (only shown when a call fails).
const STDERR_BYTES_MAX: usize = 4 << 10;
/// Pause between checks that a process which closed its stdout has also exited.
const EXIT_POLL: Duration = Duration::from_micros(200);

/// Stdout as read: the text kept, and whether there was more than the bound allowed.
#[derive(Default)]
pub(super) struct Output {
    pub(super) text: String,
    /// Bytes beyond the bound were dropped (the reader is told, never left to misparse).
    pub(super) cut: bool,
}

/// What the process did, before the rules judged it.
pub(super) enum Raw {
    Exited {
        code: Option<i32>,
        stdout: Output,
        stderr: String,
    },
    TimedOut {
        stdout: String,
    },
    /// Killed on purpose mid-call (an injected fault).
    Killed,
    NotStarted(String),
}

/// Starts `command` as the leader of a new process group (its id is the group's id).
pub(super) fn spawn_in_own_group(mut command: Command) -> std::io::Result<Child> {
    command.process_group(0).spawn()
}

/// When a call ends if it has not ended by itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Past it the call timed out: its group is killed.
    pub(super) deadline: Instant,
    /// An injected fault: the group is killed with SIGKILL at this instant, mid-call.
    pub(super) kill_at: Option<Instant>,
    /// Bytes of stdout kept.
    pub(super) stdout_max: usize,
}

/// Waits for `child` (spawned by `spawn_in_own_group` with piped stdout and stderr) until
/// the limits' deadline, then kills its group (or kills it sooner, when a fault says so).
pub(super) fn wait_with_deadline(mut child: Child, limits: Limits) -> Raw {
    let stdout = drain(child.stdout.take(), limits.stdout_max);
    let stderr = drain(child.stderr.take(), STDERR_BYTES_MAX);
    let deadline = limits
        .kill_at
        .map_or(limits.deadline, |kill| kill.min(limits.deadline));
    let killed = |child, stdout: String| {
        let timed_out = kill_group(child, stdout);
        match limits.kill_at {
            Some(kill) if kill < limits.deadline => Raw::Killed,
            _ => timed_out,
        }
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let Ok(stdout) = stdout.recv_timeout(remaining) else {
        return killed(child, String::new());
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stderr = stderr.recv_timeout(EXIT_POLL * 10).unwrap_or_default();
                return Raw::Exited {
                    code: status.code(),
                    stdout,
                    stderr: stderr.text,
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
            Ok(None) => return killed(child, stdout.text),
            Err(error) => return Raw::NotStarted(format!("cannot wait for the process: {error}")),
        }
    }
}

/// Kills every process of `child`'s group, then reaps `child`.
fn kill_group(mut child: Child, stdout: String) -> Raw {
    // The leader is not reaped yet (that is the `wait` below), so its id, the group's id, is
    // not free for reuse: the signal cannot reach a stranger's group.
    if let Ok(group) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    // The process may have exited between the deadline and here; either way it is gone after.
    let _ = child.kill();
    let _ = child.wait();
    Raw::TimedOut { stdout }
}

/// Reads `source` to its end on a thread, keeping at most `bytes_max` bytes, and sends the
/// text when the pipe closes (when the process and any children holding it have exited).
fn drain(source: Option<impl Read + Send + 'static>, bytes_max: usize) -> mpsc::Receiver<Output> {
    let (send, receive) = mpsc::channel();
    let Some(mut source) = source else {
        let _ = send.send(Output {
            text: String::new(),
            cut: false,
        });
        return receive;
    };
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut cut = false;
        let mut buffer = [0_u8; 8192];
        loop {
            match source.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = bytes_max.saturating_sub(kept.len());
                    cut |= n > room;
                    kept.extend_from_slice(&buffer[..n.min(room)]);
                }
            }
        }
        // The receiver may have given up (a timeout); nobody is left to tell.
        let _ = send.send(Output {
            text: String::from_utf8_lossy(&kept).into_owned(),
            cut,
        });
    });
    receive
}
