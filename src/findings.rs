//! Findings that scale: every checker that can find hundreds of things wrong (the command
//! adapter's history checker, `audit-store`, `spans check`) reports them the same way.
//!
//! A finding has a stable `kind` (what sort of thing is wrong), a `subject` (the operation,
//! entry or span it is about) and a `detail`; findings that follow from one root cause (one
//! unreadable file, one empty state) carry that cause, so a reader sees the cause once with a
//! count, not the same sentence many times. The one truncation rule, everywhere: counts by
//! kind first, then at most `limit` findings per kind, with what was left out said in words;
//! `--all` lifts the limit, and `--json` always holds every finding.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Findings shown per kind when the reader does not ask for more.
pub const LIMIT_DEFAULT: usize = 10;

/// One thing wrong, found from evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What sort of thing is wrong, as a stable key (`lost_claim`, `duplicate_completion`).
    pub kind: String,
    /// What it is about: an operation, a file entry, a span.
    pub subject: String,
    /// What was observed.
    pub detail: String,
    /// The root cause it follows from, when one cause explains many findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Finding {
    /// A finding of `kind` about `subject`.
    pub fn new(
        kind: impl Into<String>,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            subject: subject.into(),
            detail: detail.into(),
            cause: None,
        }
    }

    /// The same finding, explained by `cause`.
    pub fn caused_by(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{}", self.subject)
        } else if self.subject.is_empty() {
            write!(f, "{}", self.detail)
        } else {
            write!(f, "{}: {}", self.subject, self.detail)
        }
    }
}

/// How many findings of one kind there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// How many.
    pub count: usize,
}

/// One checker's findings, with what it looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    /// Findings, in the order they were found.
    pub findings: Vec<Finding>,
}

impl Findings {
    /// No findings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    /// Counts per kind, most frequent first (ties by kind name, so the order is stable).
    pub fn counts(&self) -> Vec<KindCount> {
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for finding in &self.findings {
            *by_kind.entry(&finding.kind).or_default() += 1;
        }
        let mut counts: Vec<KindCount> = by_kind
            .into_iter()
            .map(|(kind, count)| KindCount {
                kind: kind.to_owned(),
                count,
            })
            .collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
        counts
    }

    /// `n kind, m kind, …` in the order of `counts`.
    pub fn counts_line(&self) -> String {
        self.counts()
            .iter()
            .map(|c| format!("{} {}", c.count, c.kind.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The findings as text: counts by kind, then, kind by kind, root causes once with how
    /// many findings follow from each, then at most `limit` findings of the kind (all when
    /// `None`), and how many were left out.
    pub fn render(&self, limit: Option<usize>) -> String {
        let mut out = String::new();
        if self.findings.is_empty() {
            return out;
        }
        let _ = writeln!(out, "findings by kind: {}", self.counts_line());
        for KindCount { kind, count } in self.counts() {
            let _ = writeln!(out, "{} ({count}):", kind.replace('_', " "));
            let of_kind = self.findings.iter().filter(|f| f.kind == kind);
            let mut causes: BTreeMap<&str, usize> = BTreeMap::new();
            for finding in of_kind.clone() {
                if let Some(cause) = &finding.cause {
                    *causes.entry(cause).or_default() += 1;
                }
            }
            for (cause, n) in &causes {
                let _ = writeln!(out, "  because {cause}: {n} of them");
            }
            let shown = limit.unwrap_or(usize::MAX);
            for finding in of_kind.clone().take(shown) {
                let _ = writeln!(out, "  - {finding}");
            }
            if count > shown {
                let _ = writeln!(
                    out,
                    "  … and {} more {} (--all shows every one, --json writes them all)",
                    count - shown,
                    kind.replace('_', " ")
                );
            }
        }
        out
    }
}

impl FromIterator<Finding> for Findings {
    fn from_iter<I: IntoIterator<Item = Finding>>(iter: I) -> Self {
        Self {
            findings: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Findings {
        let mut findings = Findings::new();
        for i in 0..12 {
            findings.push(
                Finding::new("lost_claim", format!("op #{i}"), "not in the state")
                    .caused_by("the state is empty"),
            );
        }
        findings.push(Finding::new("double_hold", "item-1", "two holders"));
        findings
    }

    // Proves counts come first, most frequent first, and the limit applies per kind with
    // what was left out said.
    #[test]
    fn render_counts_then_limits_per_kind() {
        let text = sample().render(Some(3));
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(first, "findings by kind: 12 lost claim, 1 double hold");
        assert_eq!(text.matches("  - op #").count(), 3);
        assert!(text.contains("… and 9 more lost claim"), "{text}");
        assert!(
            text.contains("because the state is empty: 12 of them"),
            "{text}"
        );
        assert!(text.contains("  - item-1: two holders"), "{text}");
        assert_eq!(sample().render(None).matches("  - op #").count(), 12);
    }

    // Proves no findings render as nothing, so a clean run prints no header.
    #[test]
    fn empty_renders_nothing() {
        assert!(Findings::new().render(Some(3)).is_empty());
    }
}
