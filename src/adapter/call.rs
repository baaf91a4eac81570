//! One call to the system under test: expand the template, run the process with a deadline,
//! and decide its outcome from the exit code and stdout alone.
//!
//! The process's stdout and stderr are read on their own threads (so a chatty process never
//! blocks on a full pipe), and the caller waits on a channel with the deadline, not in a
//! polling loop: a call that finishes in 3 ms is seen to finish in 3 ms.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::config::{CommandTemplate, OpSpec, Rule};

/// Bytes of stdout kept per call: enough for a state file of a few thousand items, and a
/// bound on what one misbehaving process can make swarmspec hold.
pub const STDOUT_BYTES_MAX: usize = 8 << 20;
/// Bytes of stderr kept per call (only shown when a call fails).
const STDERR_BYTES_MAX: usize = 4 << 10;
/// Characters of output an operation record keeps as its excerpt.
pub const EXCERPT_CHARS_MAX: usize = 160;
/// Pause between checks that a process which closed its stdout has also exited.
const EXIT_POLL: Duration = Duration::from_micros(200);

/// How a call ended, as the history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Outcome {
    /// The `ok` rule matched: the system acknowledged the operation.
    Ok,
    /// The `conflict` rule matched: a refusal, not an error (the item is someone else's).
    Conflict,
    /// Neither rule matched, or the process could not be started.
    Failed,
    /// The process outlived its timeout and was killed.
    TimedOut,
}

impl Outcome {
    /// Lower-case name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflict => "conflict",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
        }
    }
}

/// Values the placeholders of one call stand for.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// `{dir}`: the config file's directory.
    pub dir: &'a Path,
    /// `{run_dir}`: this run's scratch directory.
    pub run_dir: &'a Path,
    /// `{swarmspec}`: the swarmspec executable.
    pub swarmspec: &'a Path,
    /// `{agent_id}`.
    pub agent_id: Option<&'a str>,
    /// `{work_item_id}`.
    pub work_item_id: Option<&'a str>,
    /// `{progress}`.
    pub progress: Option<u8>,
}

impl<'a> Values<'a> {
    /// The values every call has (`{dir}`, `{run_dir}`, `{swarmspec}`), and no others yet.
    pub fn base(dir: &'a Path, run_dir: &'a Path, swarmspec: &'a Path) -> Self {
        Self {
            dir,
            run_dir,
            swarmspec,
            agent_id: None,
            work_item_id: None,
            progress: None,
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        let path = |p: &Path| p.display().to_string();
        match name {
            "dir" => Some(path(self.dir)),
            "run_dir" => Some(path(self.run_dir)),
            "swarmspec" => Some(path(self.swarmspec)),
            "agent_id" => self.agent_id.map(str::to_owned),
            "work_item_id" => self.work_item_id.map(str::to_owned),
            "progress" => self.progress.map(|p| p.to_string()),
            _ => None,
        }
    }

    /// `template` with every known placeholder replaced, each value passed through `quote`.
    pub fn expand_with(&self, template: &str, quote: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}').and_then(|close| {
                self.get(&after[..close])
                    .map(|value| (close, quote(&value)))
            }) {
                Some((close, value)) => {
                    out.push_str(&value);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// `template` with placeholders replaced as they are.
    pub fn expand(&self, template: &str) -> String {
        self.expand_with(template, str::to_owned)
    }
}

/// `text` as one single-quoted shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Everything a finished call left.
#[derive(Debug, Clone)]
pub struct CallResult {
    /// The decided outcome.
    pub outcome: Outcome,
    /// The exit code (none when killed, timed out, or never started).
    pub exit_code: Option<i32>,
    /// Stdout (up to `STDOUT_BYTES_MAX`).
    pub stdout: String,
    /// Why it failed, when it did: the exit code and stderr, or the spawn error.
    pub problem: Option<String>,
}

impl CallResult {
    /// The first line(s) of stdout, at most `EXCERPT_CHARS_MAX` characters.
    pub fn excerpt(&self) -> String {
        excerpt(&self.stdout)
    }
}

/// `text` trimmed to `EXCERPT_CHARS_MAX` characters, newlines shown as `⏎`.
pub fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    let mut out: String = trimmed.chars().take(EXCERPT_CHARS_MAX).collect();
    if trimmed.chars().count() > EXCERPT_CHARS_MAX {
        out.push('…');
    }
    out.replace('\n', "⏎")
}

/// The environment and working directory every call of a run shares.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// Working directory of every command.
    pub cwd: PathBuf,
    /// Variables set for every command (already expanded).
    pub env: Vec<(String, String)>,
}

impl Launcher {
    fn command(&self, template: &CommandTemplate, values: &Values<'_>) -> Command {
        let mut command = match template {
            CommandTemplate::Shell(line) => {
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(values.expand_with(line, shell_quote));
                sh
            }
            CommandTemplate::Argv(argv) => {
                let mut expanded = argv.iter().map(|arg| values.expand(arg));
                let program = expanded.next().unwrap_or_default();
                let mut direct = Command::new(program);
                direct.args(expanded);
                direct
            }
        };
        command
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `template` once and decides the outcome by `op`'s rules.
    pub fn call(&self, op: &OpSpec, values: &Values<'_>) -> CallResult {
        let raw = self.run(&op.command, values, op.timeout);
        let outcome = match &raw {
            Raw::Exited { code, stdout, .. } => decide(op.conflict.as_ref(), &op.ok, *code, stdout),
            Raw::TimedOut { .. } => Outcome::TimedOut,
            Raw::NotStarted(_) => Outcome::Failed,
        };
        raw.into_result(outcome)
    }

    /// Runs `template` once; the outcome is `Ok` when it exits 0.
    pub fn call_plain(
        &self,
        template: &CommandTemplate,
        values: &Values<'_>,
        timeout: Duration,
    ) -> CallResult {
        let raw = self.run(template, values, timeout);
        let outcome = match &raw {
            Raw::Exited { code: Some(0), .. } => Outcome::Ok,
            Raw::Exited { .. } | Raw::NotStarted(_) => Outcome::Failed,
            Raw::TimedOut { .. } => Outcome::TimedOut,
        };
        raw.into_result(outcome)
    }

    fn run(&self, template: &CommandTemplate, values: &Values<'_>, timeout: Duration) -> Raw {
        let deadline = Instant::now() + timeout;
        let mut child = match self.command(template, values).spawn() {
            Ok(child) => child,
            Err(error) => return Raw::NotStarted(format!("cannot start `{template}`: {error}")),
        };
        let stdout = drain(child.stdout.take(), STDOUT_BYTES_MAX);
        let stderr = drain(child.stderr.take(), STDERR_BYTES_MAX);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(stdout) = stdout.recv_timeout(remaining) else {
            return kill(child, String::new());
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
                Ok(None) => return kill(child, stdout),
                Err(error) => {
                    return Raw::NotStarted(format!("cannot wait for the process: {error}"))
                }
            }
        }
    }
}

/// Conflict first (a refusal printed with exit code 0 is still a refusal), then ok.
fn decide(conflict: Option<&Rule>, ok: &Rule, code: Option<i32>, stdout: &str) -> Outcome {
    if conflict.is_some_and(|rule| rule.matches(code, stdout)) {
        Outcome::Conflict
    } else if ok.matches(code, stdout) {
        Outcome::Ok
    } else {
        Outcome::Failed
    }
}

/// What the process did, before the rules judged it.
enum Raw {
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

impl Raw {
    fn into_result(self, outcome: Outcome) -> CallResult {
        match self {
            Raw::Exited {
                code,
                stdout,
                stderr,
            } => {
                let problem = (outcome == Outcome::Failed).then(|| {
                    let code = code.map_or("a signal".to_owned(), |c| format!("code {c}"));
                    format!("exited with {code}; stderr: {}", excerpt(&stderr))
                });
                CallResult {
                    outcome,
                    exit_code: code,
                    stdout,
                    problem,
                }
            }
            Raw::TimedOut { stdout } => CallResult {
                outcome,
                exit_code: None,
                stdout,
                problem: Some("timed out and was killed".into()),
            },
            Raw::NotStarted(problem) => CallResult {
                outcome,
                exit_code: None,
                stdout: String::new(),
                problem: Some(problem),
            },
        }
    }
}

fn kill(mut child: Child, stdout: String) -> Raw {
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

#[cfg(test)]
mod tests {
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
            capture: None,
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
}
