//! Claims in prose: finds numeric claims about the system in a Markdown file and reports
//! each one that no VERIFIED ledger entry backs.
//!
//! A numeric claim is a line (outside code) with a number followed by a unit of speed, time,
//! size, share or scale ("2 M ops/s", "p99 < 100 ms", "10 000 agents", "99.9 %"). It is
//! backed when the same line names a claim id as `[claim: id]`, that claim was VERIFIED, and
//! every figure on the line is implied by the claim (`figures`): prose may not say more than
//! the claim it cites. The measured value is reported beside each backed line.

/// Figures in prose and their comparison with the cited claim.
pub mod figures;

use std::collections::HashMap;

use serde::Serialize;

use crate::claims::{ClaimResult, ClaimStatus};

/// Units that make a number a claim about the system.
const UNITS: &[&str] = &[
    "ops/s", "op/s", "ops", "events/s", "spans/s", "ms", "µs", "us", "ns", "s", "seconds", "%",
    "percent", "mb", "gb", "kb", "mib", "gib", "bytes", "agents", "x", "×", "m", "k",
];

/// One numeric claim found in prose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProseClaim {
    /// 1-based line.
    pub line: usize,
    /// The line's text, trimmed.
    pub text: String,
    /// The claim ids written next to it, comma-separated, if any.
    pub claim_id: Option<String>,
    /// Why it is not backed; `None` when a VERIFIED claim backs it.
    pub problem: Option<String>,
    /// Figures on the line that could not be compared with the cited claims, with why.
    pub unchecked: Vec<String>,
    /// The cited claims' measured values, as `id = value unit`.
    pub measured: Vec<String>,
}

/// The first figure on `text` that no cited claim implies (the problem), and the ones that
/// could not be compared.
fn compare_figures(text: &str, cited: &[&ClaimResult]) -> (Option<String>, Vec<String>) {
    let mut unchecked = Vec::new();
    for figure in figures::figures(text) {
        let judgements: Vec<figures::Judgement> = cited
            .iter()
            .map(|claim| figures::judge(&figure, &claim.expected, &claim.unit, &claim.conditions))
            .collect();
        if judgements.contains(&figures::Judgement::Implied) {
            continue;
        }
        if let Some(figures::Judgement::Overstates(why)) = judgements
            .iter()
            .find(|j| matches!(j, figures::Judgement::Overstates(_)))
        {
            return (Some(format!("overstates the claim: {why}")), unchecked);
        }
        if let Some(figures::Judgement::Unchecked(why)) = judgements.first() {
            unchecked.push(why.clone());
        }
    }
    (None, unchecked)
}

fn strip_inline_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// Every `[claim: id]` on the line, in order.
fn claim_ids(line: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("[claim:") {
        let after = &rest[start + "[claim:".len()..];
        let Some(end) = after.find(']') else { break };
        ids.push(after[..end].trim().to_owned());
        rest = &after[end..];
    }
    ids
}

/// Whether the (code-free) text has a number followed by a unit.
fn has_numeric_claim(text: &str) -> bool {
    let lower = text.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '(' | ')' | ',' | ';' | ':' | '<' | '>' | '=' | '~' | '≥' | '≤'
                )
        })
        .filter(|t| !t.is_empty())
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        let digits_end = token
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '\u{202f}'))
            .unwrap_or(token.len());
        if digits_end == 0 || !token.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        let glued = token[digits_end..].trim_end_matches(['.', '!', '?']);
        let next = tokens
            .get(i + 1)
            .map(|t| t.trim_end_matches(['.', '!', '?']));
        // A thousands group ("10 000 agents") keeps looking one token further.
        let after_group = next.filter(|t| t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()));
        let unit = if !glued.is_empty() {
            Some(glued)
        } else if after_group.is_some() {
            tokens
                .get(i + 2)
                .map(|t| t.trim_end_matches(['.', '!', '?']))
        } else {
            next
        };
        if unit.is_some_and(|u| UNITS.contains(&u)) {
            return true;
        }
    }
    false
}

/// Every numeric claim in `markdown`, each with the problem that leaves it unbacked, if any.
pub fn check(markdown: &str, claims: &[ClaimResult]) -> Vec<ProseClaim> {
    let by_id: HashMap<&str, &ClaimResult> = claims.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut in_fence = false;
    let mut found = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let prose = strip_inline_code(line);
        let numeric = has_numeric_claim(&prose) || !figures::figures(&prose).is_empty();
        if in_fence || !numeric {
            continue;
        }
        let ids = claim_ids(line);
        let cited: Vec<&ClaimResult> = ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        let mut problem = if ids.is_empty() {
            Some("no [claim: id] next to it".to_owned())
        } else {
            ids.iter().find_map(|id| match by_id.get(id.as_str()) {
                None => Some(format!("claim «{id}» is not in the ledger's results")),
                Some(result) if result.status != ClaimStatus::Verified => {
                    Some(format!("claim «{id}» is {}", result.status.as_str()))
                }
                Some(_) => None,
            })
        };
        let mut unchecked = Vec::new();
        if problem.is_none() {
            let (overstated, notes) = compare_figures(&strip_inline_code(line), &cited);
            problem = overstated;
            unchecked = notes;
        }
        let measured = cited
            .iter()
            .map(|c| {
                let value = c
                    .observed
                    .map_or("—".to_owned(), crate::claims::format_value);
                format!("{} = {value} {}", c.id, c.unit)
            })
            .collect();
        let id = (!ids.is_empty()).then(|| ids.join(", "));
        found.push(ProseClaim {
            line: index + 1,
            text: line.trim().to_owned(),
            claim_id: id,
            problem,
            unchecked,
            measured,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(id: &str) -> ClaimResult {
        ClaimResult {
            id: id.into(),
            statement: String::new(),
            metric: String::new(),
            unit: "ops/s".into(),
            expected: "> 1000".into(),
            observed: Some(400_500.0),
            status: ClaimStatus::Verified,
            evidence: Vec::new(),
            known_shortfall: None,
            conditions: Vec::new(),
            measurements: Vec::new(),
        }
    }

    // Proves an unbacked figure is reported and a backed one is not.
    #[test]
    fn unbacked_figures_are_reported() {
        let text =
            "It handles 2 M ops/s.\nClaims run at more than 1000 ops/s [claim: fast].\nNo figure here.\n";
        let found = check(text, &[verified("fast")]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 1);
        assert!(found[0].problem.is_some());
        assert_eq!(found[1].problem, None);
    }

    // Proves a figure the cited claim does not imply is refused even when the claim is
    // VERIFIED, and the measured value is given beside a backed line.
    #[test]
    fn figures_must_be_implied_by_the_claim() {
        let found = check(
            "More than 999999999999 ops/s [claim: fast]\nMore than 1000 ops/s [claim: fast]\nat least 500 ops/s on 2 cores [claim: fast]\n",
            &[verified("fast")],
        );
        assert!(
            found[0]
                .problem
                .as_deref()
                .unwrap_or_default()
                .starts_with("overstates"),
            "{:?}",
            found[0]
        );
        assert_eq!(found[1].problem, None);
        assert_eq!(found[1].measured, vec!["fast = 400500 ops/s".to_owned()]);
        assert_eq!(found[2].problem, None);
        assert_eq!(
            found[2].unchecked.len(),
            1,
            "cores are not compared: {:?}",
            found[2]
        );
    }

    // Proves code blocks and inline code are not prose claims.
    #[test]
    fn code_is_ignored() {
        let text = "```sh\nrun --agents 1000\n```\nUse `--agents 1000` to size it.\n";
        assert!(check(text, &[]).is_empty());
    }

    // Proves a claim id that is not VERIFIED does not back a figure.
    #[test]
    fn refuted_claim_does_not_back() {
        let mut refuted = verified("fast");
        refuted.status = ClaimStatus::Refuted;
        let found = check("p99 below 100 ms [claim: fast]\n", &[refuted]);
        assert_eq!(found[0].problem.as_deref(), Some("claim «fast» is REFUTED"));
    }

    // Proves grouped thousands and glued units are recognised.
    #[test]
    fn recognises_number_forms() {
        assert!(has_numeric_claim("up to 10 000 agents"));
        assert!(has_numeric_claim("takes 30s"));
        assert!(has_numeric_claim("at 99.9 %"));
        assert!(!has_numeric_claim("see issue 4 and step 2"));
    }
}
