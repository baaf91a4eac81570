//! Reading the adapter's TOML: the raw serde shapes (each value keeping its position) and
//! the `Loader` that validates them into `AdapterConfig` parts, every problem at its line.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::config::{CommandTemplate, OpSpec, Rule, StateSource, TIMEOUT_MS_MAX};
use crate::error::{Error, Result};

/// Placeholders every template may use.
pub(super) const BASE_PLACEHOLDERS: [&str; 3] = ["dir", "run_dir", "swarmspec"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) timeout_ms: Option<Spanned<u64>>,
    pub(super) concurrency: Option<Spanned<usize>>,
    pub(super) progress_steps: Option<Spanned<Vec<u8>>>,
    pub(super) items: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
    pub(super) init: Option<Spanned<RawOp>>,
    pub(super) register: Option<Spanned<RawOp>>,
    pub(super) submit: Option<Spanned<RawOp>>,
    pub(super) claim: Spanned<RawOp>,
    pub(super) progress: Option<Spanned<RawOp>>,
    pub(super) complete: Spanned<RawOp>,
    pub(super) state: Spanned<RawState>,
    pub(super) retry: Option<Spanned<RawRetry>>,
    pub(super) faults: Option<Spanned<RawFaults>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    pub(super) attempts: Option<Spanned<u32>>,
    pub(super) backoff_ms: Option<Spanned<u64>>,
    pub(super) backoff_max_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFaults {
    pub(super) kill_percent: Option<Spanned<f64>>,
    pub(super) kill_after_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) leftover_files: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOp {
    pub(super) command: Spanned<CommandTemplate>,
    pub(super) ok: Option<Spanned<RawRule>>,
    pub(super) conflict: Option<Spanned<RawRule>>,
    pub(super) busy: Option<Spanned<RawRule>>,
    pub(super) capture: Option<Spanned<String>>,
    pub(super) timeout_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
    pub(super) creates_item: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) exit: Option<Vec<i32>>,
    pub(super) stdout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) command: Option<Spanned<CommandTemplate>>,
    pub(super) file: Option<Spanned<String>>,
    pub(super) timeout_ms: Option<Spanned<u64>>,
    pub(super) sample_ms: Option<Spanned<u64>>,
    pub(super) max_bytes: Option<Spanned<u64>>,
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The `{name}` placeholders in `text` (a brace pair around anything else, such as JSON, is
/// left alone).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        let name = &rest[..close];
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            found.push(name);
            rest = &rest[close + 1..];
        }
    }
    found
}

/// Reads one config file, turning each problem into an error at its line.
pub(super) struct Loader<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Loader<'_> {
    pub(super) fn fail(&self, offset: usize, problem: impl Into<String>) -> Error {
        Error::AdapterConfig {
            path: self.path.to_path_buf(),
            line: line_of(self.text, offset),
            problem: problem.into(),
        }
    }

    /// `raw` milliseconds, or `default`: 0 would time every call out before it started, and
    /// past `TIMEOUT_MS_MAX` a deadline is no bound at all (and may overflow the clock).
    pub(super) fn timeout(
        &self,
        raw: Option<&Spanned<u64>>,
        what: &str,
        default: Duration,
    ) -> Result<Duration> {
        self.millis(raw, &format!("{what} timeout_ms"), default)
    }

    /// `raw` milliseconds (1 to a day) for the setting `name`, or `default`.
    pub(super) fn millis(
        &self,
        raw: Option<&Spanned<u64>>,
        name: &str,
        default: Duration,
    ) -> Result<Duration> {
        match raw {
            None => Ok(default),
            Some(ms) if (1..=TIMEOUT_MS_MAX).contains(ms.get_ref()) => {
                Ok(Duration::from_millis(*ms.get_ref()))
            }
            Some(ms) => Err(self.fail(
                ms.span().start,
                format!(
                    "{name} must be 1 to {TIMEOUT_MS_MAX} (a day), not {}",
                    ms.get_ref()
                ),
            )),
        }
    }

    /// An `[env]` name must be a portable variable name (`[A-Za-z_][A-Za-z0-9_]*`): an empty
    /// one, or one holding `=`, cannot be set at all, and the OS would refuse it only at the
    /// first call. A value may not hold a NUL byte, for the same reason.
    pub(super) fn env_entry(&self, name: &str, value: &Spanned<String>) -> Result<()> {
        let portable = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !portable {
            return Err(self.fail(
                value.span().start,
                format!("[env]: «{name}» is not a variable name (letters, digits and _, not starting with a digit)"),
            ));
        }
        if value.get_ref().contains('\0') {
            return Err(self.fail(
                value.span().start,
                format!("[env]: the value of {name} holds a NUL byte"),
            ));
        }
        Ok(())
    }

    pub(super) fn regex(&self, pattern: &Spanned<String>, what: &str) -> Result<Regex> {
        Regex::new(pattern.get_ref()).map_err(|error| {
            self.fail(
                pattern.span().start,
                format!("{what}: bad regex «{}»: {error}", pattern.get_ref()),
            )
        })
    }

    pub(super) fn check_placeholders(
        &self,
        texts: &[&str],
        offset: usize,
        section: &str,
        extra: &[&str],
    ) -> Result<()> {
        for name in texts.iter().flat_map(|text| placeholders(text)) {
            if !BASE_PLACEHOLDERS.contains(&name) && !extra.contains(&name) {
                let mut allowed: Vec<&str> = BASE_PLACEHOLDERS.to_vec();
                allowed.extend_from_slice(extra);
                return Err(self.fail(
                    offset,
                    format!(
                        "[{section}]: unknown placeholder {{{name}}}; here you may use {}",
                        allowed
                            .iter()
                            .map(|n| format!("{{{n}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn rule(&self, raw: &Spanned<RawRule>, what: &str) -> Result<Rule> {
        let rule = raw.get_ref();
        if rule.exit.is_none() && rule.stdout.is_none() {
            return Err(self.fail(
                raw.span().start,
                format!("{what}: give `exit` (a list of codes), `stdout` (a regex), or both"),
            ));
        }
        let stdout = match &rule.stdout {
            Some(pattern) => Some(self.regex(pattern, what)?),
            None => None,
        };
        Ok(Rule {
            exit: rule.exit.clone(),
            stdout,
        })
    }

    pub(super) fn op(
        &self,
        raw: &Spanned<RawOp>,
        section: &str,
        extra: &[&str],
        timeout: Duration,
    ) -> Result<OpSpec> {
        let op = raw.get_ref();
        let command = op.command.get_ref();
        let empty = match command {
            CommandTemplate::Shell(line) => line.trim().is_empty(),
            CommandTemplate::Argv(argv) => argv.first().is_none_or(|a| a.is_empty()),
        };
        if empty {
            return Err(self.fail(
                op.command.span().start,
                format!("[{section}]: the command is empty"),
            ));
        }
        self.check_placeholders(&command.texts(), op.command.span().start, section, extra)?;
        if let CommandTemplate::Shell(line) = command {
            if let Some(problem) = super::shell_quotes::quoted_placeholder(line) {
                return Err(self.fail(op.command.span().start, format!("[{section}]: {problem}")));
            }
        }
        let mut env = Vec::with_capacity(op.env.len());
        for (name, value) in &op.env {
            self.env_entry(name, value)?;
            self.check_placeholders(&[value.get_ref()], value.span().start, section, extra)?;
            env.push((name.clone(), value.get_ref().clone()));
        }
        let ok = match &op.ok {
            Some(rule) => self.rule(rule, &format!("[{section}].ok"))?,
            None => Rule {
                exit: Some(vec![0]),
                stdout: None,
            },
        };
        let conflict = match &op.conflict {
            Some(rule) => Some(self.rule(rule, &format!("[{section}].conflict"))?),
            None => None,
        };
        let busy = match &op.busy {
            Some(rule) => Some(self.rule(rule, &format!("[{section}].busy"))?),
            None => None,
        };
        let capture = match &op.capture {
            Some(pattern) if section == "init" => return Err(self.fail(
                pattern.span().start,
                "[init]: `capture` takes an id from an operation's stdout; init has none to give",
            )),
            Some(pattern) => Some(self.regex(pattern, &format!("[{section}].capture"))?),
            None => None,
        };
        if let Some(flag) = &op.creates_item {
            if section != "claim" {
                return Err(self.fail(
                    flag.span().start,
                    format!("[{section}]: `creates_item` is only for [claim]"),
                ));
            }
        }
        Ok(OpSpec {
            command: command.clone(),
            ok,
            conflict,
            busy,
            capture,
            env,
            timeout: self.timeout(op.timeout_ms.as_ref(), &format!("[{section}]"), timeout)?,
        })
    }

    pub(super) fn state(&self, raw: &Spanned<RawState>, timeout: Duration) -> Result<StateSource> {
        let state = raw.get_ref();
        match (&state.command, &state.file) {
            (Some(command), None) => {
                self.check_placeholders(&command.get_ref().texts(), command.span().start, "state", &[])?;
                Ok(StateSource::Command {
                    command: command.get_ref().clone(),
                    timeout: self.timeout(state.timeout_ms.as_ref(), "[state]", timeout)?,
                })
            }
            (None, Some(file)) => {
                self.check_placeholders(&[file.get_ref()], file.span().start, "state", &[])?;
                Ok(StateSource::File(file.get_ref().clone()))
            }
            _ => Err(self.fail(
                raw.span().start,
                "[state]: give exactly one of `command` (stdout is the work_claims.json array) or `file`",
            )),
        }
    }
}
