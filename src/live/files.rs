//! Report files served read-only from one directory: a verify run's reports once written,
//! or a past run's under `swarmspec serve`. A request names a path relative to the root;
//! anything that is not plain names (`..`, a root, a drive, a backslash), a file outside
//! the root once links are resolved, a kind not listed, or a file over `MAX_BYTES` is
//! refused. Text is served with every line the secret scanner flags withheld, as the live
//! evidence is.

use std::path::{Component, Path, PathBuf};

use crate::compliance::secrets::SecretScanner;

/// The largest file served (a report of thousands of scenarios stays well under it).
pub const MAX_BYTES: u64 = 64 << 20;

/// What a served path is, by its extension: the content type.
fn content_type(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "jsonl" | "spans" => "application/x-ndjson",
        "md" | "log" | "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        _ => return None,
    })
}

/// The file `relative` names under `root`, if it may be served.
pub fn resolve(root: &Path, relative: &str) -> Option<PathBuf> {
    if relative.is_empty() || relative.contains('\\') {
        return None;
    }
    let relative = Path::new(relative);
    if !relative
        .components()
        .all(|part| matches!(part, Component::Normal(_)))
    {
        return None;
    }
    content_type(relative)?;
    let root = std::fs::canonicalize(root).ok()?;
    let path = std::fs::canonicalize(root.join(relative)).ok()?;
    let metadata = std::fs::metadata(&path).ok()?;
    (path.starts_with(&root) && metadata.is_file() && metadata.len() <= MAX_BYTES).then_some(path)
}

/// The served body of `path` and its content type: its text with flagged lines withheld.
pub fn read_scrubbed(path: &Path, scanner: &SecretScanner) -> Option<(&'static str, String)> {
    let kind = content_type(path)?;
    let text = std::fs::read_to_string(path).ok()?;
    let report = scanner.scan_text("served", &text);
    if report.findings.is_empty() {
        return Some((kind, text));
    }
    let flagged: std::collections::BTreeSet<usize> =
        report.findings.iter().map(|finding| finding.line).collect();
    let scrubbed: Vec<&str> = text
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if flagged.contains(&(index + 1)) {
                "[withheld: the secret scanner flagged this line]"
            } else {
                line
            }
        })
        .collect();
    Some((kind, scrubbed.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves only plain relative names of listed kinds inside the root resolve, and that a
    // line holding a credential is withheld from what is served.
    #[test]
    fn only_files_under_the_root_and_no_secrets() {
        let dir = std::env::temp_dir().join(format!("swarmspec-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("run")).unwrap_or_default();
        let key = ["AKIA", "Q3EGRIWLMZX7PTEN"].concat();
        std::fs::write(dir.join("run/report.md"), format!("fine\naws {key}\nend\n"))
            .unwrap_or_default();
        std::fs::write(dir.join("run/binary.exe"), "x").unwrap_or_default();
        let root = dir.join("run");
        assert!(resolve(&root, "report.md").is_some());
        for refused in [
            "../run/report.md",
            "/etc/passwd",
            "binary.exe",
            "",
            "a\\b.md",
        ] {
            assert!(resolve(&root, refused).is_none(), "{refused}");
        }
        let path = resolve(&root, "report.md").unwrap_or_default();
        let (_, body) = read_scrubbed(&path, &SecretScanner::new()).unwrap_or_default();
        assert!(
            body.starts_with("fine\n") && body.ends_with("end"),
            "{body}"
        );
        assert!(!body.contains(&key), "{body}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
