//! The feature files and claims ledger compiled into the binary, so `swarmspec verify` runs
//! on a machine that has only the binary.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use include_dir::{include_dir, Dir};

static FEATURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/features");

/// The ledger shipped with this version.
pub const LEDGER: &str = include_str!("../../claims.toml");

/// Writes the embedded features into a fresh directory under the system temp dir.
pub fn extract_features() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("swarmspec-features-{}", std::process::id()));
    extract_dir(&FEATURES, &dir)?;
    Ok(dir)
}

/// Writes `source` and its subdirectories (the span files under `data/`) below `dir`.
fn extract_dir(source: &Dir<'static>, dir: &Path) -> anyhow::Result<()> {
    let here = dir.join(source.path());
    std::fs::create_dir_all(&here).with_context(|| format!("cannot create {}", here.display()))?;
    for file in source.files() {
        let path = dir.join(file.path());
        std::fs::write(&path, file.contents())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for child in source.dirs() {
        extract_dir(child, dir)?;
    }
    Ok(())
}

/// Whether `path` is the default relative path and is absent, so the embedded copy stands in.
pub fn use_embedded(path: &Path, default: &str) -> bool {
    path == Path::new(default) && !path.exists()
}
