//! Steps that load spans a real system wrote, so every generic evidence step judges them,
//! and steps about the file itself (skipped fragments and their lines).
//!
//! A path in `Given the spans recorded in "PATH"` is relative to the directory of the
//! feature files being run (`features/` in this repository), so a feature and its data
//! travel together; an absolute path is used as is.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::evidence::{self, Comparison};
use crate::ingest::{self, IngestReport};
use anyhow::Context as _;
use cucumber::{given, then};

use super::parameters::Compare;
use super::SwarmWorld;

/// The directory of the feature files being run (set by the suite runner); paths in steps
/// are resolved against it. Unset, they are resolved against the working directory.
pub static FEATURES_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The span file `swarmspec spans check FILE --feature F` puts under check, for
/// `Given the spans under check`. One check runs at a time per process.
pub static SPANS_UNDER_CHECK: Mutex<Option<PathBuf>> = Mutex::new(None);

fn read_setting(setting: &Mutex<Option<PathBuf>>) -> Option<PathBuf> {
    setting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

pub(super) fn resolve(path: &str) -> PathBuf {
    match read_setting(&FEATURES_DIR) {
        Some(dir) if Path::new(path).is_relative() => dir.join(path),
        _ => PathBuf::from(path),
    }
}

fn load(world: &mut SwarmWorld, path: &Path) -> anyhow::Result<()> {
    let ingested = ingest::read_path(path)
        .with_context(|| format!("loading the spans recorded in {}", path.display()))?;
    world.ingest = Some(ingested.report.clone());
    world.evidence = Some(ingested.into_evidence());
    world.run_record = super::record::external("spans-file");
    Ok(())
}

fn report(world: &SwarmWorld) -> anyhow::Result<&IngestReport> {
    world
        .ingest
        .as_ref()
        .context("no span file was read: add a `Given the spans recorded in \"PATH\"` step")
}

/// Loads a span file (OTLP JSON or a span log) as the evidence; a relative path is read
/// from the features directory. Every later `Then` judges these spans.
#[given(expr = "the spans recorded in {string}")]
fn spans_recorded_in(world: &mut SwarmWorld, path: String) -> anyhow::Result<()> {
    load(world, &resolve(&path))
}

/// Loads the span file `swarmspec spans check FILE` names (only under that command).
#[given("the spans under check")]
fn spans_under_check(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let path = read_setting(&SPANS_UNDER_CHECK).context(
        "no span file is under check: this step is for `swarmspec spans check FILE --feature F`",
    )?;
    load(world, &path)
}

/// Counts the fragments of the span file the reader skipped (garbage, refused spans).
#[then(expr = "{comparison} {int} fragment(s) of the span file was/were skipped")]
fn skipped(world: &mut SwarmWorld, how: Compare, n: u64) -> anyhow::Result<()> {
    let expected = how.count(n);
    let verdict = evidence::ingestion::skipped_fragments(report(world)?, expected);
    world.judge_as_is(verdict)
}

/// The reader reported a skipped fragment starting at that line of the span file.
#[then(expr = "the fragment at line {int} was reported as skipped")]
fn skipped_at(world: &mut SwarmWorld, line: usize) -> anyhow::Result<()> {
    let verdict = evidence::ingestion::fragment_reported_at(report(world)?, line);
    world.judge_as_is(verdict)
}

/// Exactly that many spans were read from the span file (refused ones not counted).
#[then(expr = "exactly {int} spans were read from the span file")]
fn spans_read(world: &mut SwarmWorld, n: u64) -> anyhow::Result<()> {
    let verdict = evidence::ingestion::spans_read(report(world)?, Comparison::Exactly(n));
    world.judge_as_is(verdict)
}
