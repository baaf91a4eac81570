//! Reading one coordination file for the audit, without trusting it.
//!
//! A file is absent, unreadable as a whole (one `unreadable_file` finding, whatever the
//! reason), or read; a read file can still hold entries that do not have the layout's
//! shape, each one `malformed_entry`. Entries keep their index in the file, so a finding
//! points at the entry a reader would count to, not at its place among the good ones.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::kind;
use crate::findings::{Finding, Findings};

/// What the audit could learn about one file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Presence {
    /// Not there: read as empty, as the store itself reads it (a fresh store has no files).
    Absent,
    /// There, but not a JSON array (or not readable at all): nothing in it can be judged,
    /// so checks that compare other files with it are skipped.
    Unreadable,
    /// Parsed as a JSON array.
    Read,
}

/// One file's entries as far as they could be read.
#[derive(Debug)]
pub(super) struct FileRead<T> {
    /// Whether it was there and parsed.
    pub presence: Presence,
    /// The entries that have the layout's shape, with their index in the file.
    pub entries: Vec<(usize, T)>,
    /// Ids named by entries that lack the layout's shape: other files may refer to them,
    /// and calling those references dangling would report the malformed entry twice.
    pub malformed_ids: BTreeSet<String>,
}

impl<T> FileRead<T> {
    /// Whether checks that compare another file with this one can run: the file is read, or
    /// absent (read as empty, like the store reads it).
    pub fn comparable(&self) -> bool {
        self.presence != Presence::Unreadable
    }

    /// Whether the file is not there at all.
    pub fn absent(&self) -> bool {
        self.presence == Presence::Absent
    }

    /// Whether `id` is named by an entry of this file, well-formed (by `id_of`) or not.
    pub fn names(&self, id: &str, id_of: impl Fn(&T) -> &str) -> bool {
        self.malformed_ids.contains(id) || self.entries.iter().any(|(_, e)| id_of(e) == id)
    }
}

/// Reads `file` in `dir`; `id_key` is the field that names an entry (`work_item_id`,
/// `agent_id`), kept for entries that are otherwise malformed.
pub(super) fn read<T: DeserializeOwned>(
    dir: &Path,
    file: &'static str,
    id_key: &str,
    found: &mut Findings,
) -> FileRead<T> {
    let mut read = FileRead {
        presence: Presence::Unreadable,
        entries: Vec::new(),
        malformed_ids: BTreeSet::new(),
    };
    let unreadable = |found: &mut Findings, detail: String| {
        found.push(Finding::new(kind::UNREADABLE_FILE, file, detail));
    };
    let text = match std::fs::read_to_string(dir.join(file)) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            read.presence = Presence::Absent;
            return read;
        }
        Err(error) => {
            unreadable(found, format!("cannot read: {error}"));
            return read;
        }
    };
    if text.trim().is_empty() {
        // The store writes `[]` for no entries; an empty file is a write that never finished.
        unreadable(found, "the file is empty (no entries is `[]`)".into());
        return read;
    }
    let values: Vec<Value> = match serde_json::from_str(&text) {
        Ok(values) => values,
        Err(error) => {
            unreadable(found, format!("not a JSON array: {error}"));
            return read;
        }
    };
    read.presence = Presence::Read;
    for (index, value) in values.into_iter().enumerate() {
        let id = value.get(id_key).and_then(Value::as_str).map(str::to_owned);
        match serde_json::from_value(value) {
            Ok(entry) => read.entries.push((index, entry)),
            Err(error) => {
                let subject = match &id {
                    Some(id) => format!("{file} [{index}] {id}"),
                    None => format!("{file} [{index}]"),
                };
                found.push(Finding::new(
                    kind::MALFORMED_ENTRY,
                    subject,
                    error.to_string(),
                ));
                read.malformed_ids.extend(id);
            }
        }
    }
    read
}

/// A file the audit did not look at, standing in as absent (`untraced_claims` reads the
/// claims alone).
pub(super) fn absent<T>() -> FileRead<T> {
    FileRead {
        presence: Presence::Absent,
        entries: Vec::new(),
        malformed_ids: BTreeSet::new(),
    }
}
