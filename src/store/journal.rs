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

use super::files::{is_temp_name, stage_bytes, sync_dir, Staged};
use crate::error::{Error, Result};

/// The journal's name; present only while (or after a crash during) a multi-file commit.
pub const JOURNAL_FILE: &str = ".swarmspec.journal";

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

/// Finishes a commit a dead writer left half done, and removes its uninstalled temp files.
/// Returns whether there was a journal to finish. Call with the directory lock held.
pub fn recover(dir: &Path) -> Result<bool> {
    let journal_path = dir.join(JOURNAL_FILE);
    let finished = match std::fs::read(&journal_path) {
        Ok(bytes) => {
            let renames: Vec<(String, String)> =
                serde_json::from_slice(&bytes).map_err(|e| journal_error(dir, e))?;
            for (temp, target) in renames {
                let staged = Staged {
                    temp: dir.join(&temp),
                    target: dir.join(&target),
                };
                // Renames done before the crash left no temp file: nothing to redo.
                if staged.temp.exists() {
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
        if is_temp_name(&name) {
            // Under the lock no live writer has a temp file: this one was never installed.
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::super::files::{read_array, stage_array};
    use super::*;

    // Proves a commit interrupted after its journal was written is finished by recovery:
    // every file ends at its new version, and stray temp files are removed.
    #[test]
    fn recovery_finishes_an_interrupted_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
        std::fs::write(&a, "[1]").expect("old a");
        std::fs::write(&b, "[1]").expect("old b");
        let staged = [
            stage_array(&a, &[2]).expect("stage a"),
            stage_array(&b, &[2]).expect("stage b"),
        ];
        // The writer dies after the journal and the first rename.
        let renames = vec![
            (file_name(&staged[0].temp), "a.json".to_owned()),
            (file_name(&staged[1].temp), "b.json".to_owned()),
        ];
        let text = serde_json::to_vec(&renames).expect("journal text");
        std::fs::write(dir.path().join(JOURNAL_FILE), text).expect("journal");
        staged[0].install().expect("first rename");
        let orphan = stage_array(&dir.path().join("c.json"), &[9]).expect("orphan");

        assert!(recover(dir.path()).expect("recover"));
        assert_eq!(read_array::<i32>(&a).expect("a"), vec![2]);
        assert_eq!(read_array::<i32>(&b).expect("b"), vec![2]);
        assert!(!orphan.temp.exists(), "an uninstalled temp file is removed");
        assert!(!dir.path().join(JOURNAL_FILE).exists());
        assert!(!recover(dir.path()).expect("nothing left to recover"));
    }

    // Proves a commit that died before its journal existed changes nothing.
    #[test]
    fn a_commit_without_journal_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = dir.path().join("a.json");
        std::fs::write(&a, "[1]").expect("old a");
        let staged = stage_array(&a, &[2]).expect("stage");
        assert!(!recover(dir.path()).expect("recover"));
        assert_eq!(read_array::<i32>(&a).expect("a"), vec![1]);
        assert!(!staged.temp.exists());
    }

    // Proves a normal commit installs every file and leaves no journal behind.
    #[test]
    fn commit_installs_everything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
        let staged = [
            stage_array(&a, &["x"]).expect("a"),
            stage_array(&b, &["y"]).expect("b"),
        ];
        commit(dir.path(), &staged).expect("commit");
        assert_eq!(read_array::<String>(&b).expect("b"), vec!["y".to_owned()]);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "only the two files remain: {names:?}");
    }
}
