//! The final state the system under test holds, read once after the agents stop.
//!
//! It is read the way a stranger would read it: from a command's stdout or a file, as the
//! `work_claims.json` array (`src/store/layout.rs`). An empty or unparseable state is kept
//! as a problem with an excerpt, not an error, because it is a finding about the system: the
//! history checker reports it as a failed verdict.

use std::path::Path;

use serde::Serialize;

use super::call::{excerpt, Launcher, Outcome, Values};
use super::config::{StateSource, StateSpec};
use crate::store::layout::WorkClaim;

/// What the state read gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinalState {
    /// Where it was read from (a file path or a command).
    pub source: String,
    /// The entries, or why there are none to judge.
    pub entries: Result<Vec<WorkClaim>, String>,
}

impl FinalState {
    /// The entry for `item`, if the state is readable and lists it.
    pub fn item(&self, item: &str) -> Option<&WorkClaim> {
        self.entries
            .as_ref()
            .ok()?
            .iter()
            .find(|claim| claim.work_item_id == item)
    }

    /// `item`'s entry in words, as a check's evidence shows it.
    pub fn describe(&self, item: &str) -> String {
        match (&self.entries, self.item(item)) {
            (Err(problem), _) => format!("state unreadable ({problem})"),
            (Ok(_), None) => format!("{item} is not in the final state"),
            (Ok(_), Some(claim)) => format!(
                "final state: {item} status={} agent={} progress={}",
                claim.status,
                claim.agent_id.as_deref().unwrap_or("null"),
                claim.progress
            ),
        }
    }
}

/// Parses `text` as the `work_claims.json` array; every problem names what it saw.
pub fn parse(text: &str) -> Result<Vec<WorkClaim>, String> {
    if text.trim().is_empty() {
        return Err("the state is empty".into());
    }
    let values: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|error| format!("not a JSON array ({error}): «{}»", excerpt(text)))?;
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            serde_json::from_value(value.clone()).map_err(|error| {
                format!(
                    "entry [{index}] is not a work claim ({error}): «{}»",
                    excerpt(&value.to_string())
                )
            })
        })
        .collect()
}

/// The words for a state past its bound.
fn too_large(size: &str, max_bytes: u64) -> String {
    format!(
        "the state is {size} bytes, over the limit of {max_bytes} ([state] max_bytes raises it); it was not read"
    )
}

/// Reads `path` whole if it is at most `max_bytes` long.
fn read_bounded(path: &Path, max_bytes: u64) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read: {error}"))?;
    let mut text = String::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(|error| format!("cannot read: {error}"))?;
    if text.len() as u64 > max_bytes {
        let size = std::fs::metadata(path)
            .map_or_else(|_| "more than that".into(), |m| m.len().to_string());
        return Err(too_large(&size, max_bytes));
    }
    Ok(text)
}

/// Reads the state as `spec` says.
pub fn read(spec: &StateSpec, launcher: &Launcher, values: &Values<'_>) -> FinalState {
    let max_bytes = spec.max_bytes;
    match &spec.source {
        StateSource::File(template) => {
            let path = launcher.cwd.join(Path::new(&values.expand(template)));
            let entries = read_bounded(&path, max_bytes).and_then(|text| parse(&text));
            FinalState {
                source: path.display().to_string(),
                entries,
            }
        }
        StateSource::Command { command, timeout } => {
            let stdout_max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
            let result = launcher.call_plain(command, values, *timeout, stdout_max);
            let entries = match result.outcome {
                Outcome::Ok if result.stdout_cut => {
                    Err(too_large(&format!("more than {max_bytes}"), max_bytes))
                }
                Outcome::Ok => parse(&result.stdout),
                _ => Err(format!(
                    "the state command {}: {}",
                    result.outcome.as_str(),
                    result.problem.unwrap_or_default()
                )),
            };
            FinalState {
                source: format!("the output of `{command}`"),
                entries,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves empty, non-array and malformed-entry states are problems that quote what was seen.
    #[test]
    fn bad_states_are_described() {
        assert_eq!(parse("  \n"), Err("the state is empty".into()));
        assert!(parse("{\"work_item_id\": 1").is_err_and(|p| p.contains("not a JSON array")));
        let entry = parse(r#"[{"work_item_id": "a", "status": "pending"}, {"status": 3}]"#);
        assert!(entry.is_err_and(|p| p.starts_with("entry [1]")));
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("state.json");
        std::fs::write(&big, "[]".repeat(10)).expect("write");
        assert!(read_bounded(&big, 19).is_err_and(|p| p.contains("20 bytes, over the limit of 19")));
        assert_eq!(read_bounded(&big, 20).map(|t| t.len()), Ok(20));
        let good = parse(
            r#"[{"work_item_id": "a", "status": "completed", "agent_id": "x", "progress": 100}]"#,
        );
        assert_eq!(good.map(|claims| claims.len()), Ok(1));
    }
}
