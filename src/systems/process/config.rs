//! A `process:CONFIG.toml` file: the command that starts the child coordinator, its
//! environment and its deadlines. Every mistake is reported at its file and line, because the
//! file is written by hand against a program swarmspec does not know.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};

/// Per-call deadline when the config does not set one.
pub const CALL_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Time allowed for the handshake when the config does not set it.
pub const START_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// The longest deadline a config may set: an hour is no deadline at all for one call.
pub const TIMEOUT_MS_MAX: u64 = 3_600_000;
/// Placeholders a command or environment value may use.
pub const PLACEHOLDERS: [&str; 3] = ["dir", "state_dir", "swarmspec"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Option<Spanned<String>>,
    command: Spanned<Vec<String>>,
    call_timeout_ms: Option<Spanned<u64>>,
    start_timeout_ms: Option<Spanned<u64>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
}

/// A validated process-system config.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The config file (for messages).
    pub path: PathBuf,
    /// The config file's directory: the child's working directory and `{dir}`.
    pub dir: PathBuf,
    /// Shown in reports: the config's `name`, else the file name.
    pub name: String,
    /// Program and arguments, placeholders not yet substituted.
    pub command: Vec<String>,
    /// Extra environment, placeholders not yet substituted.
    pub env: BTreeMap<String, String>,
    /// How long one call may wait for its answer before it fails indefinitely.
    pub call_timeout: Duration,
    /// How long the child may take to answer the handshake.
    pub start_timeout: Duration,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl ProcessConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let fail = |line: usize, problem: String| Error::AdapterConfig {
            path: path.to_path_buf(),
            line,
            problem,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| fail(0, format!("cannot read the process config: {error}")))?;
        let at = |offset: usize| line_of(&text, offset);
        let raw: RawConfig = toml::from_str(&text).map_err(|error| {
            let line = error.span().map_or(0, |span| at(span.start));
            fail(line, error.message().to_owned())
        })?;
        let command_at = at(raw.command.span().start);
        let command = raw.command.into_inner();
        if command
            .first()
            .is_none_or(|program| program.trim().is_empty())
        {
            return Err(fail(
                command_at,
                "`command` needs a program to run: command = [\"python3\", \"{dir}/coordinator.py\"]"
                    .into(),
            ));
        }
        for part in &command {
            check_placeholders(part).map_err(|problem| fail(command_at, problem))?;
        }
        let mut env = BTreeMap::new();
        for (key, value) in raw.env {
            let line = at(value.span().start);
            let value = value.into_inner();
            check_placeholders(&value).map_err(|problem| fail(line, problem))?;
            env.insert(key, value);
        }
        let timeout = |raw: Option<Spanned<u64>>, default: u64, key: &str| {
            let Some(raw) = raw else {
                return Ok(Duration::from_millis(default));
            };
            let line = at(raw.span().start);
            match raw.into_inner() {
                0 => Err(fail(line, format!("`{key}` must be at least 1 ms"))),
                ms if ms > TIMEOUT_MS_MAX => Err(fail(
                    line,
                    format!("`{key}` is {ms} ms; at most {TIMEOUT_MS_MAX} ms (an hour)"),
                )),
                ms => Ok(Duration::from_millis(ms)),
            }
        };
        let call_timeout = timeout(
            raw.call_timeout_ms,
            CALL_TIMEOUT_MS_DEFAULT,
            "call_timeout_ms",
        )?;
        let start_timeout = timeout(
            raw.start_timeout_ms,
            START_TIMEOUT_MS_DEFAULT,
            "start_timeout_ms",
        )?;
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let name = match raw.name {
            Some(name) => name.into_inner(),
            None => path
                .file_stem()
                .map_or_else(|| "process".into(), |s| s.to_string_lossy().into_owned()),
        };
        Ok(Self {
            path: path.to_path_buf(),
            dir,
            name,
            command,
            env,
            call_timeout,
            start_timeout,
        })
    }

    /// The program the command names, when it cannot be found (not a file, not on `PATH`):
    /// a machine without, say, python3 cannot run this system at all.
    pub fn missing_program(&self) -> Option<String> {
        let program = self.command.first()?;
        if program.contains('{') {
            return None;
        }
        let as_path = Path::new(program);
        if as_path.components().count() > 1 {
            let full = self.dir.join(as_path);
            return (!full.is_file()).then(|| program.clone());
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let found = std::env::split_paths(&path).any(|dir| dir.join(program).is_file());
        (!found).then(|| program.clone())
    }

    /// `text` with `{dir}`, `{state_dir}` and `{swarmspec}` (the swarmspec executable)
    /// filled in.
    pub fn substitute(&self, text: &str, state_dir: &Path) -> Result<String> {
        let mut text = text
            .replace("{dir}", &self.dir.to_string_lossy())
            .replace("{state_dir}", &state_dir.to_string_lossy());
        if text.contains("{swarmspec}") {
            let exe = crate::systems::swarmspec_executable()?;
            text = text.replace("{swarmspec}", &exe.to_string_lossy());
        }
        Ok(text)
    }
}

/// Refuses `{name}` placeholders the protocol does not define (a typo would otherwise reach
/// the child as literal text).
fn check_placeholders(text: &str) -> std::result::Result<(), String> {
    for name in crate::adapter::config::placeholders(text) {
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; a process config may use {{dir}}, {{state_dir}} and {{swarmspec}}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ProcessConfig> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sys.toml");
        std::fs::write(&path, text).expect("write");
        ProcessConfig::load(&path)
    }

    // Proves a good config loads with defaults, and each kind of mistake names its line.
    #[test]
    fn mistakes_are_located() {
        let good = load("command = [\"python3\", \"{dir}/c.py\", \"{state_dir}\"]\n").expect("ok");
        assert_eq!(
            good.call_timeout,
            Duration::from_millis(CALL_TIMEOUT_MS_DEFAULT)
        );
        assert_eq!(good.name, "sys");
        let cases = [
            ("name = \"x\"\ncommand = []\n", ":2:", "program"),
            (
                "command = [\"a\"]\ncall_timeout_ms = 0\n",
                ":2:",
                "at least 1 ms",
            ),
            (
                "command = [\"a\", \"{stat_dir}\"]\n",
                ":1:",
                "unknown placeholder",
            ),
            ("command = [\"a\"]\nbogus = 1\n", ":2:", "unknown field"),
            ("command = \"a b\"\n", ":1:", "sequence"),
        ];
        for (text, line, problem) in cases {
            let error = load(text).expect_err(text).to_string();
            assert!(
                error.contains(line) && error.contains(problem),
                "{text}: {error}"
            );
        }
    }
}
