//! The directory walk: every entry under the root, hidden ones too, read without ever
//! leaving the root, blocking on a special file or reading without bound.
//!
//! Symlinks are noted and never followed (a target inside the root is scanned where it
//! lives, one outside is not the scan's business), and files are opened with `O_NOFOLLOW`
//! and checked on the open handle, so an entry swapped for a symlink or a FIFO between the
//! listing and the read is still caught. An entry that cannot be read becomes an
//! `Unreadable` finding, so one bad directory costs that directory, not the scan.
//!
//! # The ignore file
//!
//! `.secretsignore` at the root lists entries not to scan, one pattern a line (blank lines
//! and lines starting with `#` are skipped):
//!
//! - `*` matches any run of characters but `/`, `?` any one character but `/`;
//! - a pattern without `/` matches an entry of that name at any depth (`*.sample`);
//! - a pattern with a `/` inside or at its start matches the path from the root
//!   (`fixtures/keys.conf`, `/build`);
//! - a trailing `/` matches directories only (`fixtures/`);
//! - an ignored directory is not entered, so everything under it is ignored too.
//!
//! Every ignored entry is in the report's notes. `DEFAULT_IGNORED` names are ignored
//! without being listed.

use std::fs::{File, FileType};
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::{Finding, ScanReport, SecretScanner, SkipReason};
use crate::error::{Error, Result};

/// Files larger than this are skipped (with a note): secrets live in config, not in dumps.
pub const FILE_LEN_MAX_BYTES: u64 = 1024 * 1024;
/// Bound on the files one directory scan reads.
pub const FILE_COUNT_MAX: usize = 10_000;
/// Bound on the entries (of any kind) one directory scan visits.
pub const ENTRY_COUNT_MAX: usize = 100_000;
/// The ignore file, read from the scanned root only.
pub const IGNORE_FILE_NAME: &str = ".secretsignore";
/// Names never scanned: version-control internals (compressed objects, no readable text)
/// and build output.
pub const DEFAULT_IGNORED: [&str; 2] = [".git", "target"];
/// Lines of the ignore file taken: a bound on the patterns every entry is matched against.
const IGNORE_PATTERN_COUNT_MAX: usize = 1_000;

/// One ignore-file line.
#[derive(Debug)]
struct Pattern {
    glob: String,
    anchored: bool,
    dirs_only: bool,
}

impl Pattern {
    fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let dirs_only = line.ends_with('/');
        let body = line.trim_end_matches('/');
        let anchored = body.contains('/');
        let glob = body.trim_start_matches('/').to_owned();
        (!glob.is_empty()).then_some(Self {
            glob,
            anchored,
            dirs_only,
        })
    }

    fn matches(&self, path: &str, name: &str, is_dir: bool) -> bool {
        (is_dir || !self.dirs_only)
            && glob_matches(&self.glob, if self.anchored { path } else { name })
    }
}

/// `*` and `?` wildcard matching (neither crosses `/`), by the linear two-pointer method:
/// on a mismatch, the last `*` takes one more character.
fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text) = (glob.as_bytes(), text.as_bytes());
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if (c == b'?' && text[t] != b'/') || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) if text[star_t] != b'/' => {
                    star = Some((star_g, star_t + 1));
                    g = star_g + 1;
                    t = star_t + 1;
                }
                _ => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// What opening an entry found.
enum Opened {
    /// The file's bytes, no more than `FILE_LEN_MAX_BYTES`.
    Text(Vec<u8>),
    /// Not read, for this reason.
    Skipped(SkipReason),
}

fn special_kind(file_type: FileType) -> &'static str {
    if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else {
        "special file"
    }
}

/// Opens `path` without following a symlink or blocking on a FIFO, and reads it if the
/// handle (not the name, which may have changed since the listing) is a regular file.
fn read_bounded(path: &Path) -> std::io::Result<Opened> {
    let file = match File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Opened::Skipped(SkipReason::Symlink))
        }
        Err(error) => return Err(error),
    };
    let file_type = file.metadata()?.file_type();
    if !file_type.is_file() {
        return Ok(Opened::Skipped(SkipReason::Special(special_kind(
            file_type,
        ))));
    }
    let mut bytes = Vec::new();
    file.take(FILE_LEN_MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > FILE_LEN_MAX_BYTES {
        return Ok(Opened::Skipped(SkipReason::TooLarge));
    }
    Ok(Opened::Text(bytes))
}

/// One file, as `SecretScanner::scan_file` promises.
pub(super) fn scan_file(scanner: &SecretScanner, path: &Path, label: &str) -> Result<ScanReport> {
    let opened = read_bounded(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(match opened {
        Opened::Text(bytes) => scanner.scan_text(label, &String::from_utf8_lossy(&bytes)),
        Opened::Skipped(reason) => {
            let mut report = ScanReport::default();
            report.skip(label, reason);
            report
        }
    })
}

/// The walk's state: where it is allowed to go and what it found so far.
struct Walk<'a> {
    scanner: &'a SecretScanner,
    root: PathBuf,
    ignore: Vec<Pattern>,
    report: ScanReport,
    entries_seen: usize,
}

/// `label` joined under `parent`, `/`-separated from the root.
fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

impl Walk<'_> {
    fn load_ignore_file(&mut self) {
        let opened = match read_bounded(&self.root.join(IGNORE_FILE_NAME)) {
            Ok(opened) => opened,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
            Err(error) => {
                let finding = Finding::unreadable(IGNORE_FILE_NAME, &error);
                self.report.findings.push(finding);
                return;
            }
        };
        match opened {
            Opened::Text(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let patterns = text.lines().filter_map(Pattern::parse);
                self.ignore = patterns.take(IGNORE_PATTERN_COUNT_MAX).collect();
            }
            Opened::Skipped(reason) => self.report.skip(IGNORE_FILE_NAME, reason),
        }
    }

    fn ignored(&self, label: &str, name: &str, is_dir: bool) -> bool {
        DEFAULT_IGNORED.contains(&name)
            || self.ignore.iter().any(|p| p.matches(label, name, is_dir))
    }

    /// The entries of directory `label`, sorted by name; a failure part-way is a finding.
    fn list(&mut self, label: &str) -> std::io::Result<Vec<(String, std::io::Result<FileType>)>> {
        let dir = self.root.join(label);
        // The listing that named this directory may be stale: it must still resolve inside.
        if !std::fs::canonicalize(&dir)?.starts_with(&self.root) {
            self.report.skip(label, SkipReason::Symlink);
            return Ok(Vec::new());
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    entries.push((name, entry.file_type()));
                }
                Err(error) => {
                    self.report
                        .findings
                        .push(Finding::unreadable(label, &error));
                    break;
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }

    /// Scans the files of `dir` and returns its subdirectories, in name order.
    fn visit(&mut self, dir: &str) -> std::io::Result<Vec<String>> {
        let mut subdirs = Vec::new();
        for (name, file_type) in self.list(dir)? {
            let label = join(dir, &name);
            self.entries_seen += 1;
            let file_type = match file_type {
                Ok(file_type) => file_type,
                Err(error) => {
                    self.report
                        .findings
                        .push(Finding::unreadable(&label, &error));
                    continue;
                }
            };
            if self.entries_seen > ENTRY_COUNT_MAX {
                self.report.skip(&label, SkipReason::CountBound);
            } else if self.ignored(&label, &name, file_type.is_dir()) {
                self.report.skip(&label, SkipReason::Ignored);
            } else if file_type.is_symlink() {
                self.report.skip(&label, SkipReason::Symlink);
            } else if file_type.is_dir() {
                subdirs.push(label);
            } else if !file_type.is_file() {
                self.report
                    .skip(&label, SkipReason::Special(special_kind(file_type)));
            } else if self.report.files_scanned >= FILE_COUNT_MAX {
                self.report.skip(&label, SkipReason::CountBound);
            } else {
                self.read(&label);
            }
        }
        Ok(subdirs)
    }

    fn read(&mut self, label: &str) {
        match read_bounded(&self.root.join(label)) {
            Ok(Opened::Text(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                let found = self.scanner.scan_text(label, &text);
                self.report.merge(found);
            }
            Ok(Opened::Skipped(reason)) => self.report.skip(label, reason),
            Err(error) => self
                .report
                .findings
                .push(Finding::unreadable(label, &error)),
        }
    }
}

/// The whole tree under `root`, as `SecretScanner::scan_dir` promises.
pub(super) fn scan_dir(scanner: &SecretScanner, root: &Path) -> Result<ScanReport> {
    let root_error = |source| Error::ReadFile {
        path: root.to_path_buf(),
        source,
    };
    let mut walk = Walk {
        scanner,
        root: std::fs::canonicalize(root).map_err(root_error)?,
        ignore: Vec::new(),
        report: ScanReport::default(),
        entries_seen: 0,
    };
    walk.load_ignore_file();
    let mut pending = walk.visit("").map_err(root_error)?;
    pending.reverse();
    while let Some(dir) = pending.pop() {
        match walk.visit(&dir) {
            Ok(subdirs) => pending.extend(subdirs.into_iter().rev()),
            Err(error) => walk.report.findings.push(Finding::unreadable(&dir, &error)),
        }
    }
    walk.report.findings.sort();
    walk.report.notes.sort();
    Ok(walk.report)
}
