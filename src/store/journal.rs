//! All-or-nothing replacement of several store files, through a redo journal.
//!
//! One transaction may change `work_claims.json`, `agent_status.json` and
//! `coordination_log.json` together (a completion changes all three). Each file is replaced
//! atomically, but a writer killed between two renames would leave the files disagreeing:
//! the item completed in one, absent from the log in another. So a multi-file commit first
//! stages every new version under a temp name, then atomically writes the journal naming the
//! renames still to do, then renames, then deletes the journal. The next transaction (under
//! the directory lock, so no writer is mid-commit) finishes any journal it finds and removes
//! temp files nobody will install. A crash therefore leaves either the old versions of all
//! files or, once the journal exists, the new versions of all of them.

use std::path::Path;

use super::files::{stage_bytes, sync_dir, temp_target, Staged};
use super::layout::{AGENT_STATUS_FILE, COORDINATION_LOG_FILE, WORK_CLAIMS_FILE};
use crate::error::{Error, Result};

/// The journal's name; present only while (or after a crash during) a multi-file commit.
pub const JOURNAL_FILE: &str = ".swarmspec.journal";

/// The only files a journal may name as targets. Anything else in a journal was not written
/// by a store (it is hostile or corrupt), and recovery refuses it rather than rename outside
/// the store's own files.
const JOURNALED_FILES: [&str; 3] = [WORK_CLAIMS_FILE, AGENT_STATUS_FILE, COORDINATION_LOG_FILE];

/// What a user can do about a journal recovery refuses; said with every refusal.
const RECOVERY_HINT: &str = "no commit was finished from it and nothing was renamed; inspect \
     the store's JSON files (`swarmspec audit-store DIR`), then delete .swarmspec.journal to \
     keep them as they are";

fn journal_error(dir: &Path, problem: impl std::fmt::Display) -> Error {
    Error::Store {
        path: dir.join(JOURNAL_FILE),
        problem: problem.to_string(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Installs every staged file in `dir` as one change. Call with the directory lock held.
pub fn commit(dir: &Path, staged: &[Staged]) -> Result<()> {
    if staged.is_empty() {
        return Ok(());
    }
    let journal_path = dir.join(JOURNAL_FILE);
    let journaled = staged.len() > 1;
    if journaled {
        let renames: Vec<(String, String)> = staged
            .iter()
            .map(|s| (file_name(&s.temp), file_name(&s.target)))
            .collect();
        let text = serde_json::to_vec(&renames).map_err(|e| journal_error(dir, e))?;
        stage_bytes(&journal_path, &text)?.install()?;
        sync_dir(dir);
    }
    for file in staged {
        file.install()?;
    }
    sync_dir(dir);
    if journaled {
        std::fs::remove_file(&journal_path).map_err(|e| journal_error(dir, e))?;
    }
    Ok(())
}

/// Checks one journal entry names a store file and a temp file the store made for it, both
/// plain names inside `dir`, and that neither is a symlink (which would lead out of `dir`).
fn checked_rename(dir: &Path, temp: &str, target: &str) -> Result<Staged> {
    let refuse = |why: String| journal_error(dir, format!("{why}; {RECOVERY_HINT}"));
    if !JOURNALED_FILES.contains(&target) {
        return Err(refuse(format!(
            "the journal names {target:?} as a target, which is not one of the store's files \
             ({})",
            JOURNALED_FILES.join(", ")
        )));
    }
    if temp_target(temp) != Some(target) {
        return Err(refuse(format!(
            "the journal names {temp:?} as the new version of {target}, which is not a temp \
             name the store makes for that file"
        )));
    }
    for name in [temp, target] {
        let path = dir.join(name);
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if !meta.file_type().is_file() {
                return Err(refuse(format!(
                    "{name} in the store is a symlink or not a regular file"
                )));
            }
        }
    }
    Ok(Staged {
        temp: dir.join(temp),
        target: dir.join(target),
    })
}

/// Reads and checks the whole journal before any rename, so a bad entry anywhere leaves
/// the store untouched.
fn read_journal(dir: &Path, bytes: &[u8]) -> Result<Vec<Staged>> {
    let renames: Vec<(String, String)> = serde_json::from_slice(bytes).map_err(|e| {
        journal_error(
            dir,
            format!("the journal is not readable ({e}); {RECOVERY_HINT}"),
        )
    })?;
    renames
        .iter()
        .map(|(temp, target)| checked_rename(dir, temp, target))
        .collect()
}

/// Finishes a commit a dead writer left half done, and removes its uninstalled temp files.
/// Returns whether there was a journal to finish. Call with the directory lock held.
///
/// Only the store's own files are renamed and only temp names the store makes are deleted;
/// a journal naming anything else (`../outside`, a user's file, a symlink) is refused.
pub fn recover(dir: &Path) -> Result<bool> {
    let journal_path = dir.join(JOURNAL_FILE);
    let finished = match std::fs::read(&journal_path) {
        Ok(bytes) => {
            for staged in read_journal(dir, &bytes)? {
                // Renames done before the crash left no temp file: nothing to redo.
                if std::fs::symlink_metadata(&staged.temp).is_ok() {
                    staged.install()?;
                }
            }
            sync_dir(dir);
            std::fs::remove_file(&journal_path).map_err(|e| journal_error(dir, e))?;
            true
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => return Err(journal_error(dir, error)),
    };
    let entries = std::fs::read_dir(dir).map_err(|e| journal_error(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = temp_target(&name)
            .is_some_and(|target| JOURNALED_FILES.contains(&target) || target == JOURNAL_FILE);
        let plain_file = entry.file_type().is_ok_and(|kind| kind.is_file());
        if ours && plain_file {
            // Under the lock no live writer has a temp file: this one was never installed.
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(finished)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
