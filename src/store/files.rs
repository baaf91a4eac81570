//! The directory's lock and its crash-safe reads and writes.
//!
//! Every read-modify-write holds an OS lock (`flock`, through fs4) on `.swarmspec.lock`, a
//! file that is created once and never deleted: the lock is the kernel's, so it dies with
//! its holder and can never go stale, unlike a lock file whose mere existence is the lock.
//! The lock file is opened afresh for each transaction, because `flock` locks belong to an
//! open file description: two threads sharing one descriptor would both "hold" it.
//!
//! A write goes to a uniquely named temp file in the same directory, is fsynced, and is
//! renamed over the target (atomic on POSIX), then the directory is fsynced. A reader (or
//! `kill -9` at any instant) sees the old file or the new one, never half of one.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use fs4::fs_std::FileExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// The lock file's name; it is never deleted.
pub const LOCK_FILE: &str = ".swarmspec.lock";
/// How many names a temp file tries before giving up (names collide only with leftovers of
/// killed writers that had the same process id).
const TEMP_NAME_ATTEMPTS_MAX: u32 = 64;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn store_error(path: &Path, problem: impl std::fmt::Display) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// An exclusive hold on a store directory, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DirLock {
    file: File,
}

impl DirLock {
    /// Blocks until this caller holds the directory's lock.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| store_error(&path, error))?;
        FileExt::lock_exclusive(&file).map_err(|error| store_error(&path, error))?;
        Ok(Self { file })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock anyway; unlocking first just makes it
        // prompt. An error here cannot be acted on.
        let _ = FileExt::unlock(&self.file);
    }
}

/// Reads a JSON array file; a missing file is an empty array, an empty or invalid one is an
/// error naming the file.
pub fn read_array<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(store_error(path, error)),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(store_error(path, "the file is empty"));
    }
    serde_json::from_slice(&bytes).map_err(|error| store_error(path, error))
}

/// The file a temp name made by `temp_path` stands in for, or `None` when `name` is not of
/// that exact shape (`.{target}.{pid}.{counter}.{attempt}.tmp`, three decimal numbers). The
/// shape is strict so that recovery never deletes a user's own `.notes.tmp`.
pub fn temp_target(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(4, '.');
    let numbers = [parts.next()?, parts.next()?, parts.next()?];
    let target = parts.next()?;
    let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numbers.iter().all(|n| decimal(n)) && !target.is_empty()).then_some(target)
}

fn temp_path(target: &Path, attempt: u32) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
    let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(
        ".{name}.{}.{unique}.{attempt}.tmp",
        std::process::id()
    ))
}

/// A new version of a file, written and fsynced under a temp name beside it, not yet in
/// place: `install` (or a journal's commit) renames it over the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// The temp file holding the new content.
    pub temp: PathBuf,
    /// The file it replaces.
    pub target: PathBuf,
}

impl Staged {
    /// Renames the temp file over the target (atomic on POSIX).
    pub fn install(&self) -> Result<()> {
        std::fs::rename(&self.temp, &self.target).map_err(|error| {
            let _ = std::fs::remove_file(&self.temp);
            store_error(&self.target, error)
        })
    }
}

/// Writes `items` as pretty JSON to a fresh temp file beside `path` and fsyncs it.
pub fn stage_array<T: Serialize>(path: &Path, items: &[T]) -> Result<Staged> {
    let mut json = serde_json::to_vec_pretty(items).map_err(|error| store_error(path, error))?;
    json.push(b'\n');
    stage_bytes(path, &json)
}

/// A new temp file beside `path`. Only a taken name is worth another attempt: any other
/// failure (a read-only directory, a full disk) is returned as the OS put it, not as "no
/// free name".
fn create_temp(path: &Path) -> Result<(File, PathBuf)> {
    for attempt in 0..TEMP_NAME_ATTEMPTS_MAX {
        let temp = temp_path(path, attempt);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
            Err(error) => return Err(store_error(path, error)),
        }
    }
    Err(store_error(path, "no free name for a temp file"))
}

/// Writes `bytes` to a fresh temp file beside `path` and fsyncs it.
pub fn stage_bytes(path: &Path, bytes: &[u8]) -> Result<Staged> {
    let (mut file, temp) = create_temp(path)?;
    if let Err(error) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        let _ = std::fs::remove_file(&temp);
        return Err(store_error(path, error));
    }
    Ok(Staged {
        temp,
        target: path.to_path_buf(),
    })
}

/// Replaces `path` with `items` as pretty JSON, atomically; the new content is on disk
/// before the rename, and the rename itself is durable once `sync_dir` has run on the
/// directory. (Several files changed together go through `journal::commit` instead.)
pub fn write_array<T: Serialize>(path: &Path, items: &[T]) -> Result<()> {
    stage_array(path, items)?.install()
}

/// Makes the renames done in `dir` durable. A failure to sync a directory (unsupported on
/// some filesystems) leaves the writes atomic, just not yet durable, so it is not an error.
pub fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves any string (quotes, newlines, backslashes, unicode) round-trips through a write.
    #[test]
    fn strings_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.json");
        let hostile = vec![
            "quote \" and \\ backslash".to_owned(),
            "line\nbreak\ttab\r\u{0}".to_owned(),
            "ünïcødé 🦀 \u{202e}".to_owned(),
        ];
        write_array(&path, &hostile).expect("write");
        let back: Vec<String> = read_array(&path).expect("read");
        assert_eq!(back, hostile);
        let leftovers = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(leftovers, 1, "no temp file is left behind");
    }

    // Proves a missing file reads as empty and an empty one is refused with its name.
    #[test]
    fn missing_is_empty_and_empty_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("y.json");
        assert!(read_array::<String>(&path).expect("missing").is_empty());
        std::fs::write(&path, "  \n").expect("write");
        let error = read_array::<String>(&path).expect_err("empty");
        assert!(error.to_string().contains("y.json"), "{error}");
    }

    // Proves a directory the store may not write in says so, not "no free name for a temp
    // file" after 64 doomed attempts. /sys refuses new files even to root.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_unwritable_directory_says_permission_denied() {
        let staged = stage_bytes(Path::new("/sys/swarmspec-probe.json"), b"[]");
        let error = staged.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("ermission denied"), "{error}");
    }
}
