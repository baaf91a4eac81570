//! The options every command that lists findings shares (`run --system command:…`,
//! `audit-store`, `spans check`), so the truncation rule is one rule: `--limit N` findings
//! per kind (default `findings::LIMIT_DEFAULT`), `--all` for every one, `--json` for one
//! document holding every finding whatever the limit.

use clap::Args;
use swarmspec::findings::{Findings, LIMIT_DEFAULT};

/// How findings are shown.
#[derive(Debug, Clone, Args)]
pub struct ListingArgs {
    /// Show at most this many findings of each kind (counts by kind always come first).
    #[arg(long, value_name = "N", default_value_t = LIMIT_DEFAULT, conflicts_with = "all")]
    pub limit: usize,
    /// Show every finding.
    #[arg(long)]
    pub all: bool,
    /// Print one JSON document with every finding (and the checks' verdicts) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ListingArgs {
    /// The per-kind limit, or none with `--all`.
    pub fn limit(&self) -> Option<usize> {
        (!self.all).then_some(self.limit)
    }

    /// `findings` as text under this listing's limit.
    pub fn render(&self, findings: &Findings) -> String {
        findings.render(self.limit())
    }
}
