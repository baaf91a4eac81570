//! One call to the system under test: expand the template, run the process with a deadline,
//! and decide its outcome from the exit code and stdout alone.
//!
//! Running the process (its own process group, pipes drained on threads, the deadline, the
//! kill) is `process`'s part.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

#[cfg(test)]
use super::config::Rule;
use super::config::{CommandTemplate, OpSpec};
use super::process::{self, Limits, Raw};

pub use super::process::STDOUT_BYTES_MAX;
/// Characters of output an operation record keeps as its excerpt.
pub const EXCERPT_CHARS_MAX: usize = 160;

/// How a call ended, as the history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Outcome {
    /// The `ok` rule matched: the system acknowledged the operation.
    Ok,
    /// The `conflict` rule matched: a held refusal, not an error (the item is someone
    /// else's). Never retried.
    Conflict,
    /// The `busy` rule matched: the system could not serve the call now. Retried.
    Busy,
    /// Neither rule matched, or the process could not be started.
    Failed,
    /// The process outlived its timeout and was killed.
    TimedOut,
    /// The process was killed mid-call on purpose (an injected fault): its effect is
    /// unknown, like a timeout's, but it is swarmspec's doing, not the system's.
    Killed,
}

impl Outcome {
    /// Lower-case name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflict => "conflict",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Killed => "killed",
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
    /// Stdout went past its bound and was cut there (said in the record, never silent).
    pub stdout_cut: bool,
    /// Why it failed, when it did: the exit code and stderr, or the spawn error.
    pub problem: Option<String>,
}

impl CallResult {
    /// The first line(s) of stdout, at most `EXCERPT_CHARS_MAX` characters.
    pub fn excerpt(&self) -> String {
        let mut text = excerpt(&self.stdout);
        if self.stdout_cut {
            text.push_str(&format!(" [stdout cut at {STDOUT_BYTES_MAX} bytes]"));
        }
        text
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
    fn command(
        &self,
        template: &CommandTemplate,
        values: &Values<'_>,
        op_env: &[(String, String)],
    ) -> Command {
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
            .envs(op_env.iter().map(|(k, v)| (k, values.expand(v))))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `template` once and decides the outcome by `op`'s rules.
    pub fn call(&self, op: &OpSpec, values: &Values<'_>) -> CallResult {
        self.call_killed_after(op, values, None)
    }

    /// Runs `template` once, killing its process group `kill_after` its start when given (an
    /// injected fault), and decides the outcome by `op`'s rules.
    pub fn call_killed_after(
        &self,
        op: &OpSpec,
        values: &Values<'_>,
        kill_after: Option<Duration>,
    ) -> CallResult {
        let started = Instant::now();
        let limits = Limits {
            deadline: started + op.timeout,
            kill_at: kill_after.map(|after| started + after),
            stdout_max: STDOUT_BYTES_MAX,
        };
        let raw = self.run(&op.command, values, &op.env, limits);
        let outcome = match &raw {
            Raw::Exited { code, stdout, .. } => decide(op, *code, &stdout.text),
            Raw::TimedOut { .. } => Outcome::TimedOut,
            Raw::Killed => Outcome::Killed,
            Raw::NotStarted(_) => Outcome::Failed,
        };
        raw.into_result(outcome)
    }

    /// Runs `template` once, keeping at most `stdout_max` bytes of stdout; the outcome is
    /// `Ok` when it exits 0.
    pub fn call_plain(
        &self,
        template: &CommandTemplate,
        values: &Values<'_>,
        timeout: Duration,
        stdout_max: usize,
    ) -> CallResult {
        let limits = Limits {
            deadline: Instant::now() + timeout,
            kill_at: None,
            stdout_max,
        };
        let raw = self.run(template, values, &[], limits);
        let outcome = match &raw {
            Raw::Exited { code: Some(0), .. } => Outcome::Ok,
            Raw::Exited { .. } | Raw::NotStarted(_) => Outcome::Failed,
            Raw::TimedOut { .. } => Outcome::TimedOut,
            Raw::Killed => Outcome::Killed,
        };
        raw.into_result(outcome)
    }

    fn run(
        &self,
        template: &CommandTemplate,
        values: &Values<'_>,
        op_env: &[(String, String)],
        limits: Limits,
    ) -> Raw {
        match process::spawn_in_own_group(self.command(template, values, op_env)) {
            Ok(child) => process::wait_with_deadline(child, limits),
            Err(error) => Raw::NotStarted(format!("cannot start `{template}`: {error}")),
        }
    }
}

/// Busy first, then conflict (a refusal printed with exit code 0 is still a refusal), then
/// ok.
fn decide(op: &OpSpec, code: Option<i32>, stdout: &str) -> Outcome {
    if op
        .busy
        .as_ref()
        .is_some_and(|rule| rule.matches(code, stdout))
    {
        Outcome::Busy
    } else if op
        .conflict
        .as_ref()
        .is_some_and(|rule| rule.matches(code, stdout))
    {
        Outcome::Conflict
    } else if op.ok.matches(code, stdout) {
        Outcome::Ok
    } else {
        Outcome::Failed
    }
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
                    stdout_cut: stdout.cut,
                    stdout: stdout.text,
                    problem,
                }
            }
            Raw::TimedOut { stdout } => CallResult {
                outcome,
                exit_code: None,
                stdout,
                stdout_cut: false,
                problem: Some("timed out and was killed".into()),
            },
            Raw::Killed => CallResult {
                outcome,
                exit_code: None,
                stdout: String::new(),
                stdout_cut: false,
                problem: Some("killed with SIGKILL mid-call by the fault injector".into()),
            },
            Raw::NotStarted(problem) => CallResult {
                outcome,
                exit_code: None,
                stdout: String::new(),
                stdout_cut: false,
                problem: Some(problem),
            },
        }
    }
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
