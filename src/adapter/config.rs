//! The adapter's TOML config: how to drive another coordinator through its command line.
//!
//! A config names one command per operation (`claim`, `progress`, `complete`, and optionally
//! `init`, `register`, `submit`), how each one's success and conflict are recognised (exit
//! codes and/or a regex on stdout), and where the final state is read from (`[state]`: a
//! command printing JSON, or a file). Every mistake is reported with the file and the line
//! it is on, because a config is written by hand against a system swarmspec does not know.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

pub use super::loader::placeholders;
use super::loader::{Loader, RawConfig};
pub use super::policies::{CommandFaults, RetryPolicy, StateSpec};
use crate::error::{Error, Result};

/// How long one call may run before it is killed and recorded as timed out.
pub const TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// The longest timeout a config may set: a day.
pub const TIMEOUT_MS_MAX: u64 = 86_400_000;
/// Calls in flight at once when the config does not say.
pub const CONCURRENCY_DEFAULT: usize = 16;
/// The most calls in flight a config may ask for: each is an OS process, and a machine that
/// runs out of processes fails in ways that look like the system under test's fault.
pub const CONCURRENCY_MAX: usize = 256;
/// Progress reported on each claimed item when the config has a `[progress]` command but
/// no `progress_steps`.
pub const PROGRESS_STEPS_DEFAULT: [u8; 1] = [50];

/// One operation's command: a shell line (run with `sh -c`, placeholders shell-quoted) or an
/// argument vector (run directly, placeholders substituted as they are).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CommandTemplate {
    /// `command = "tool claim {agent_id} {work_item_id}"`
    Shell(String),
    /// `command = ["tool", "claim", "{agent_id}", "{work_item_id}"]`
    Argv(Vec<String>),
}

impl std::fmt::Display for CommandTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandTemplate::Shell(line) => write!(f, "sh -c «{line}»"),
            CommandTemplate::Argv(argv) => write!(f, "{}", argv.join(" ")),
        }
    }
}

impl CommandTemplate {
    pub(super) fn texts(&self) -> Vec<&str> {
        match self {
            CommandTemplate::Shell(line) => vec![line.as_str()],
            CommandTemplate::Argv(argv) => argv.iter().map(String::as_str).collect(),
        }
    }
}

/// What an outcome looks like: every part given must hold.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Exit codes that qualify (any, when `None`).
    pub exit: Option<Vec<i32>>,
    /// A pattern stdout must match somewhere (anything, when `None`).
    pub stdout: Option<Regex>,
}

impl Rule {
    /// Whether a call that exited with `code` (none when killed by a signal) and printed
    /// `stdout` fits this rule.
    pub fn matches(&self, code: Option<i32>, stdout: &str) -> bool {
        let exit_fits = self
            .exit
            .as_ref()
            .is_none_or(|codes| code.is_some_and(|c| codes.contains(&c)));
        exit_fits && self.stdout.as_ref().is_none_or(|re| re.is_match(stdout))
    }
}

/// One operation: its command and how its outcome is recognised.
#[derive(Debug, Clone)]
pub struct OpSpec {
    /// The command, with placeholders.
    pub command: CommandTemplate,
    /// Success (default: exit code 0).
    pub ok: Rule,
    /// A *held* refusal that is not an error: the item is someone else's (default: none;
    /// checked before `ok`, so a conflict printed with exit code 0 is still a conflict).
    /// Never retried.
    pub conflict: Option<Rule>,
    /// A *busy* refusal: the system could not serve the call now (its lock was taken).
    /// Checked first; retried as `[retry]` says.
    pub busy: Option<Rule>,
    /// The id the system assigned, from stdout (the group named `id`, else the first group,
    /// else the whole match): an agent's on register, an item's on submit or on a claim that
    /// creates its item. Without it the proposed id is used.
    pub capture: Option<Regex>,
    /// Environment variables for this operation's calls only (values with placeholders),
    /// e.g. a tool that takes the agent's id from `AGENT_ID`.
    pub env: Vec<(String, String)>,
    /// How long the call may run.
    pub timeout: Duration,
}

/// Where the final state comes from.
#[derive(Debug, Clone)]
pub enum StateSource {
    /// A command whose stdout is the `work_claims.json` array.
    Command {
        /// The command, with placeholders.
        command: CommandTemplate,
        /// How long it may run.
        timeout: Duration,
    },
    /// A file in the `work_claims.json` layout (path with placeholders; relative to the
    /// config's directory).
    File(String),
}

/// A loaded, validated adapter config.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its directory: `{dir}` in templates, and the working directory of every command.
    pub dir: PathBuf,
    /// Calls in flight at once, at most.
    pub concurrency: usize,
    /// Progress values each agent reports on an item it claimed, in order.
    pub progress_steps: Vec<u8>,
    /// The items to work on, when the config names them (else the run proposes ids).
    pub items: Option<Vec<String>>,
    /// Environment variables set for every command (values with placeholders).
    pub env: Vec<(String, String)>,
    /// Run once before anything else (e.g. create an empty state file).
    pub init: Option<OpSpec>,
    /// Run once per agent before the agents start; may capture the system's agent id.
    pub register: Option<OpSpec>,
    /// Run once per item before the agents start; may capture the system's item id.
    pub submit: Option<OpSpec>,
    /// Take an item.
    pub claim: OpSpec,
    /// Report progress on a held item (`{progress}`).
    pub progress: Option<OpSpec>,
    /// Finish a held item.
    pub complete: OpSpec,
    /// Where the final state is read, how often it is sampled, how large it may be.
    pub state: StateSpec,
    /// Whether a claim creates its item (a tool with no submit, whose claim makes a new
    /// item with an id of its own, taken by `capture`): then the run's items are pieces of
    /// work to get done, not ids proposed up front.
    pub claim_creates_item: bool,
    /// How busy refusals are retried.
    pub retry: RetryPolicy,
    /// Faults injected into the calls.
    pub faults: CommandFaults,
}

/// The config's directory, absolute: commands run in it, so a relative `{dir}` would be
/// resolved twice.
fn config_dir(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

impl AdapterConfig {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::AdapterConfig {
            path: path.to_path_buf(),
            line: 0,
            problem: format!("cannot read: {error}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text that was read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let loader = Loader { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            loader.fail(offset, error.message().to_owned())
        })?;
        let timeout = loader.timeout(
            raw.timeout_ms.as_ref(),
            "the top-level",
            Duration::from_millis(TIMEOUT_MS_DEFAULT),
        )?;
        let concurrency = match &raw.concurrency {
            Some(n) if !(1..=CONCURRENCY_MAX).contains(n.get_ref()) => {
                return Err(loader.fail(
                    n.span().start,
                    format!(
                        "concurrency must be 1 to {CONCURRENCY_MAX}, not {}",
                        n.get_ref()
                    ),
                ))
            }
            Some(n) => *n.get_ref(),
            None => CONCURRENCY_DEFAULT,
        };
        let item_vars: &[&str] = &["agent_id", "work_item_id"];
        let call_vars: &[&str] = &["agent_id", "work_item_id"];
        let creates = raw
            .claim
            .get_ref()
            .creates_item
            .as_ref()
            .filter(|flag| *flag.get_ref());
        if let Some(flag) = creates {
            let at = flag.span().start;
            if raw.submit.is_some() {
                return Err(loader.fail(at, "[claim] creates_item: the items are created by claims, so there can be no [submit]"));
            }
            if raw.items.is_some() {
                return Err(loader.fail(at, "[claim] creates_item: the items are created by claims, so the config cannot list them"));
            }
            if raw.claim.get_ref().capture.is_none() {
                return Err(loader.fail(at, "[claim] creates_item needs `capture`: a regex finding the new item's id in the claim's stdout"));
            }
        }
        let claim_vars: &[&str] = if creates.is_some() {
            &["agent_id"]
        } else {
            call_vars
        };
        let progress = match &raw.progress {
            Some(op) => Some(loader.op(
                op,
                "progress",
                &["agent_id", "work_item_id", "progress"],
                timeout,
            )?),
            None => None,
        };
        let progress_steps = match (&raw.progress_steps, &progress) {
            (Some(steps), _) if steps.get_ref().iter().any(|&p| p > 100) => {
                return Err(loader.fail(
                    steps.span().start,
                    "progress_steps are percentages: 0 to 100",
                ))
            }
            (Some(steps), None) if !steps.get_ref().is_empty() => {
                return Err(loader.fail(
                    steps.span().start,
                    "progress_steps needs a [progress] command to report them with",
                ))
            }
            (Some(steps), _) => steps.get_ref().clone(),
            (None, Some(_)) => PROGRESS_STEPS_DEFAULT.to_vec(),
            (None, None) => Vec::new(),
        };
        if let Some(items) = &raw.items {
            let mut seen = std::collections::BTreeSet::new();
            if let Some(bad) = items
                .get_ref()
                .iter()
                .find(|id| id.is_empty() || !seen.insert(id.as_str()))
            {
                return Err(loader.fail(
                    items.span().start,
                    format!("items: «{bad}» is empty or listed twice"),
                ));
            }
        }
        let mut env = Vec::with_capacity(raw.env.len());
        for (name, value) in &raw.env {
            loader.env_entry(name, value)?;
            loader.check_placeholders(&[value.get_ref()], value.span().start, "env", &[])?;
            env.push((name.clone(), value.get_ref().clone()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            dir: config_dir(path),
            concurrency,
            progress_steps,
            items: raw.items.map(Spanned::into_inner),
            env,
            init: raw
                .init
                .as_ref()
                .map(|op| loader.op(op, "init", &[], timeout))
                .transpose()?,
            register: raw
                .register
                .as_ref()
                .map(|op| loader.op(op, "register", &["agent_id"], timeout))
                .transpose()?,
            submit: raw
                .submit
                .as_ref()
                .map(|op| loader.op(op, "submit", item_vars, timeout))
                .transpose()?,
            claim: loader.op(&raw.claim, "claim", claim_vars, timeout)?,
            progress,
            complete: loader.op(&raw.complete, "complete", call_vars, timeout)?,
            state: loader.state_spec(&raw.state, timeout)?,
            claim_creates_item: creates.is_some(),
            retry: loader.retry(raw.retry.as_ref())?,
            faults: loader.faults(raw.faults.as_ref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[claim]
command = ["tool", "claim", "{agent_id}", "{work_item_id}"]
conflict = { exit = [3] }

[complete]
command = "tool complete {agent_id} {work_item_id}"

[state]
file = "{run_dir}/work_claims.json"
"#;

    fn parse(text: &str) -> Result<AdapterConfig> {
        AdapterConfig::parse(text, Path::new("cfg/adapter.toml"))
    }

    fn error_text(text: &str) -> String {
        match parse(text) {
            Ok(_) => String::from("<parsed>"),
            Err(error) => error.to_string(),
        }
    }

    // Proves a minimal config loads with its defaults filled in.
    #[test]
    fn minimal_config_loads_with_defaults() {
        let config = parse(MINIMAL).expect("the minimal config is valid");
        assert_eq!(config.concurrency, CONCURRENCY_DEFAULT);
        assert!(config.progress_steps.is_empty());
        assert!(config.dir.is_absolute() && config.dir.ends_with("cfg"));
        assert!(config.claim.ok.matches(Some(0), ""));
        assert!(!config.claim.ok.matches(Some(1), ""));
        assert!(config
            .claim
            .conflict
            .as_ref()
            .is_some_and(|r| r.matches(Some(3), "")));
        assert_eq!(
            config.claim.timeout,
            Duration::from_millis(TIMEOUT_MS_DEFAULT)
        );
    }

    // Proves an unknown placeholder is refused with the file, the line and the allowed names.
    #[test]
    fn unknown_placeholder_names_file_and_line() {
        let text = MINIMAL.replace("\"{work_item_id}\"]", "\"{item}\"]");
        let error = error_text(&text);
        assert!(error.starts_with("cfg/adapter.toml:3:"), "{error}");
        assert!(
            error.contains("{item}") && error.contains("{work_item_id}"),
            "{error}"
        );
    }

    // Proves a bad regex and a misspelt key are refused at their lines.
    #[test]
    fn bad_regex_and_unknown_key_name_their_lines() {
        let text = MINIMAL.replace("conflict = { exit = [3] }", "ok = { stdout = \"(\" }");
        assert!(
            error_text(&text).starts_with("cfg/adapter.toml:4:"),
            "{}",
            error_text(&text)
        );
        let text = MINIMAL.replace("conflict =", "conflcit =");
        let error = error_text(&text);
        assert!(
            error.starts_with("cfg/adapter.toml:4:") && error.contains("conflcit"),
            "{error}"
        );
    }

    // Proves a state section must name exactly one source, and progress steps need a command.
    #[test]
    fn state_and_progress_mistakes_are_refused() {
        let text = MINIMAL.replace("file = ", "command = \"cat x\"\nfile = ");
        assert!(
            error_text(&text).contains("exactly one of"),
            "{}",
            error_text(&text)
        );
        let text = format!("progress_steps = [50]\n{MINIMAL}");
        assert!(
            error_text(&text).starts_with("cfg/adapter.toml:1:"),
            "{}",
            error_text(&text)
        );
    }

    // Proves placeholders are found and JSON braces are not taken for one.
    #[test]
    fn placeholders_skip_json_braces() {
        assert_eq!(
            placeholders("{dir}/x {\"a\": {progress}}"),
            vec!["dir", "progress"]
        );
        assert!(placeholders("{}").is_empty());
    }

    // Proves a zero or absurd timeout and an env name that cannot be set are refused at
    // their line, before any command runs.
    #[test]
    fn bad_timeouts_and_env_names_are_refused() {
        let cases = [
            (
                format!("timeout_ms = 0\n{MINIMAL}"),
                "timeout_ms must be 1 to",
            ),
            (
                MINIMAL.replace("[claim]\n", "[claim]\ntimeout_ms = 0\n"),
                "[claim] timeout_ms must be 1 to",
            ),
            (
                format!("timeout_ms = {}\n{MINIMAL}", i64::MAX),
                "timeout_ms must be 1 to",
            ),
            (
                format!("{MINIMAL}\n[env]\n\"A=B\" = \"x\"\n"),
                "«A=B» is not a variable name",
            ),
            (
                format!("{MINIMAL}\n[env]\n\"\" = \"x\"\n"),
                "«» is not a variable name",
            ),
        ];
        for (text, expected) in cases {
            let error = error_text(&text);
            assert!(error.contains(expected), "{expected}: {error}");
            assert!(error.starts_with("cfg/adapter.toml:"), "{error}");
        }
    }
}
