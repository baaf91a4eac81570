//! Journal commit and recovery, including the hostile journals recovery must refuse.

use std::path::Path;

use super::super::files::{read_array, stage_array};
use super::super::layout::{AGENT_STATUS_FILE, WORK_CLAIMS_FILE};
use super::*;

fn write_journal(dir: &Path, renames: &[(&str, &str)]) {
    let text = serde_json::to_vec(renames).expect("journal text");
    std::fs::write(dir.join(JOURNAL_FILE), text).expect("journal");
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// Proves a commit interrupted after its journal was written is finished by recovery:
// every file ends at its new version, and stray temp files are removed.
#[test]
fn recovery_finishes_an_interrupted_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join(WORK_CLAIMS_FILE);
    let b = dir.path().join(AGENT_STATUS_FILE);
    std::fs::write(&a, "[1]").expect("old a");
    std::fs::write(&b, "[1]").expect("old b");
    let staged = [
        stage_array(&a, &[2]).expect("stage a"),
        stage_array(&b, &[2]).expect("stage b"),
    ];
    // The writer dies after the journal and the first rename.
    let (ta, tb) = (file_name(&staged[0].temp), file_name(&staged[1].temp));
    write_journal(
        dir.path(),
        &[(&ta, WORK_CLAIMS_FILE), (&tb, AGENT_STATUS_FILE)],
    );
    staged[0].install().expect("first rename");
    let orphan = stage_array(&dir.path().join(COORDINATION_LOG_FILE), &[9]).expect("orphan");

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
    let a = dir.path().join(WORK_CLAIMS_FILE);
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
    let a = dir.path().join(WORK_CLAIMS_FILE);
    let b = dir.path().join(AGENT_STATUS_FILE);
    let staged = [
        stage_array(&a, &["x"]).expect("a"),
        stage_array(&b, &["y"]).expect("b"),
    ];
    commit(dir.path(), &staged).expect("commit");
    assert_eq!(read_array::<String>(&b).expect("b"), vec!["y".to_owned()]);
    assert_eq!(names_in(dir.path()).len(), 2, "only the two files remain");
}

/// A store directory inside a sandbox, with a file outside the store beside it.
struct Sandbox {
    _root: tempfile::TempDir,
    store: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn sandbox() -> Sandbox {
    let root = tempfile::tempdir().expect("temp dir");
    let store = root.path().join("store");
    std::fs::create_dir(&store).expect("store dir");
    let outside = root.path().join("victim.txt");
    std::fs::write(&outside, "precious").expect("outside file");
    Sandbox {
        _root: root,
        store,
        outside,
    }
}

// Proves a journal whose target leads out of the store is refused and writes nothing outside
// (before the fix, recovery renamed a temp file over `../victim.txt`).
#[test]
fn a_target_outside_the_store_is_refused() {
    let s = sandbox();
    let temp = stage_array(&s.store.join(WORK_CLAIMS_FILE), &[1]).expect("stage");
    write_journal(&s.store, &[(&file_name(&temp.temp), "../victim.txt")]);
    let error = recover(&s.store).expect_err("hostile target");
    let text = error.to_string();
    assert!(
        text.contains("../victim.txt") && text.contains("delete"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&s.outside).expect("victim"),
        "precious"
    );
    assert!(
        s.store.join(JOURNAL_FILE).exists(),
        "the journal is kept for inspection"
    );
}

// Proves a journal whose source leads out of the store is refused and moves nothing in
// (before the fix, recovery moved `../victim.txt` into the store).
#[test]
fn a_source_outside_the_store_is_refused() {
    let s = sandbox();
    write_journal(&s.store, &[("../victim.txt", WORK_CLAIMS_FILE)]);
    recover(&s.store).expect_err("hostile source");
    assert!(s.outside.exists(), "the outside file stays where it was");
    assert!(!s.store.join(WORK_CLAIMS_FILE).exists());
}

// Proves a source that is a store-shaped temp name but a symlink out of the store is refused.
#[cfg(unix)]
#[test]
fn a_symlinked_temp_file_is_refused() {
    let s = sandbox();
    let link = format!(".{WORK_CLAIMS_FILE}.1.2.3.tmp");
    std::os::unix::fs::symlink(&s.outside, s.store.join(&link)).expect("symlink");
    write_journal(&s.store, &[(&link, WORK_CLAIMS_FILE)]);
    let error = recover(&s.store).expect_err("symlink source");
    assert!(error.to_string().contains("symlink"), "{error}");
    assert!(!s.store.join(WORK_CLAIMS_FILE).exists());
    assert_eq!(
        std::fs::read_to_string(&s.outside).expect("victim"),
        "precious"
    );
}

// Proves a bad entry anywhere in the journal stops recovery before the first rename.
#[test]
fn one_bad_entry_stops_every_rename() {
    let s = sandbox();
    let claims = s.store.join(WORK_CLAIMS_FILE);
    std::fs::write(&claims, "[1]").expect("old claims");
    let good = stage_array(&claims, &[2]).expect("stage");
    write_journal(
        &s.store,
        &[
            (&file_name(&good.temp), WORK_CLAIMS_FILE),
            ("x", "../victim.txt"),
        ],
    );
    recover(&s.store).expect_err("hostile second entry");
    assert_eq!(read_array::<i32>(&claims).expect("claims"), vec![1]);
}

// Proves recovery deletes only temp names the store makes: a user's `.notes.tmp` stays.
#[test]
fn a_users_own_tmp_file_is_kept() {
    let s = sandbox();
    std::fs::write(s.store.join(".notes.tmp"), "mine").expect("user file");
    std::fs::write(s.store.join(".other.json.1.2.3.tmp"), "mine too").expect("user file");
    let orphan = stage_array(&s.store.join(AGENT_STATUS_FILE), &[1]).expect("orphan");
    recover(&s.store).expect("recover");
    assert!(!orphan.temp.exists(), "the store's own orphan is removed");
    assert!(s.store.join(".notes.tmp").exists());
    assert!(s.store.join(".other.json.1.2.3.tmp").exists());
}

// Proves a corrupt journal is an error that says how to recover.
#[test]
fn a_corrupt_journal_says_how_to_recover() {
    let s = sandbox();
    std::fs::write(s.store.join(JOURNAL_FILE), "{not json").expect("journal");
    let text = recover(&s.store).expect_err("corrupt").to_string();
    assert!(
        text.contains("not readable") && text.contains("delete"),
        "{text}"
    );
}

// Proves the temp-name parser accepts exactly the shape `stage_bytes` makes.
#[test]
fn temp_names_are_recognised_strictly() {
    let made = stage_array(
        &tempfile::tempdir()
            .expect("dir")
            .path()
            .join(WORK_CLAIMS_FILE),
        &[1],
    )
    .expect("stage");
    assert_eq!(temp_target(&file_name(&made.temp)), Some(WORK_CLAIMS_FILE));
    for name in [
        ".notes.tmp",
        ".a.1.2.tmp",
        ".a.1.x.3.tmp",
        "a.1.2.3.tmp",
        "..1.2.3.tmp",
    ] {
        assert_eq!(temp_target(name), None, "{name}");
    }
}
