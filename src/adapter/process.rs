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

/// What the process did, before the rules judged it.
pub(super) enum Raw {
    Exited {
        code: Option<i32>,
        stdout: String,
        stderr: String,
    },
    TimedOut {
        stdout: String,
    },
    NotStarted(String),
}

/// Starts `command` as the leader of a new process group (its id is the group's id).
pub(super) fn spawn_in_own_group(mut command: Command) -> std::io::Result<Child> {
    command.process_group(0).spawn()
}

/// Waits for `child` (spawned by `spawn_in_own_group` with piped stdout and stderr) until
/// `deadline`, then kills its group.
pub(super) fn wait_with_deadline(mut child: Child, deadline: Instant) -> Raw {
    let stdout = drain(child.stdout.take(), STDOUT_BYTES_MAX);
    let stderr = drain(child.stderr.take(), STDERR_BYTES_MAX);
    let remaining = deadline.saturating_duration_since(Instant::now());
    let Ok(stdout) = stdout.recv_timeout(remaining) else {
        return kill_group(child, String::new());
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stderr = stderr.recv_timeout(EXIT_POLL * 10).unwrap_or_default();
                return Raw::Exited {
                    code: status.code(),
                    stdout,
                    stderr,
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
            Ok(None) => return kill_group(child, stdout),
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
fn drain(source: Option<impl Read + Send + 'static>, bytes_max: usize) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    let Some(mut source) = source else {
        let _ = send.send(String::new());
        return receive;
    };
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buffer = [0_u8; 8192];
        loop {
            match source.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = bytes_max.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..n.min(room)]);
                }
            }
        }
        // The receiver may have given up (a timeout); nobody is left to tell.
        let _ = send.send(String::from_utf8_lossy(&kept).into_owned());
    });
    receive
}
