//! Compliance checks, each returning a `Verdict` with expected, observed and evidence.
//!
//! They read what a run left behind: captured spans, the exported audit entries, the scan
//! report, the catalog's stored JSON. None of them takes a component's word for it: the
//! audit chain is re-verified against the head the spans recorded, secrets are looked for in
//! what the report prints, stored records are read back.

use std::collections::HashMap;

use super::access::Action;
use super::audit::{AuditEntry, COORDINATION_ACTIONS};
use super::canary::Planted;
use super::catalog::{Probe, WorkCatalog};
use super::chain::{head_from_spans, verify_entries};
use super::secrets::ScanReport;
use super::validation::InputField;
use crate::error::{Error, Result};
use crate::evidence::Verdict;
use crate::telemetry::SpanRecord;

/// The exported chain verifies and ends at the head the captured `audit.append` spans
/// recorded (without that anchor a rewritten chain would look intact, so it is required).
pub fn audit_chain_intact(entries: &[AuditEntry], spans: &[SpanRecord]) -> Verdict {
    let head = head_from_spans(spans);
    let (passed, observed, evidence) = match (&head, verify_entries(entries, head.as_ref())) {
        (None, _) => (
            false,
            "no audit.append span recorded a head".into(),
            Vec::new(),
        ),
        (Some(_), Err(found)) => (false, found.to_string(), vec![found.to_string()]),
        (Some(head), Ok(_)) => (
            !entries.is_empty(),
            format!("{} entries, head {} as recorded", entries.len(), head.hash),
            Vec::new(),
        ),
    };
    Verdict::new(
        "the audit chain verifies against the captured head",
        passed,
        "at least 1 entry, every link intact, ending at the recorded head",
        observed,
        evidence,
    )
}

/// Verification of the exported chain fails with `fault` at entry `index`.
pub fn tampering_located(
    entries: &[AuditEntry],
    spans: &[SpanRecord],
    fault: &str,
    index: usize,
) -> Verdict {
    let head = head_from_spans(spans);
    let (passed, observed) = match verify_entries(entries, head.as_ref()) {
        Ok(found) => (
            false,
            format!("the chain verified ({} entries)", found.length),
        ),
        Err(found) => (
            found.fault.name() == fault && found.index == index,
            found.to_string(),
        ),
    };
    Verdict::new(
        "tampering with the audit chain is detected and located",
        passed && head.is_some(),
        format!("audit entry {index}: {fault}"),
        observed,
        vec![format!(
            "head from evidence: {}",
            head.map_or("none".into(), |h| format!("{} entries", h.length))
        )],
    )
}

/// Every coordination span has exactly one audit entry naming it, and no entry names a span
/// that was not captured.
pub fn every_action_audited(spans: &[SpanRecord], entries: &[AuditEntry]) -> Verdict {
    let mut counts: HashMap<(String, String), usize> = spans
        .iter()
        .filter(|span| COORDINATION_ACTIONS.contains(&span.name.as_str()))
        .map(|span| ((span.name.clone(), span.span_id_hex()), 0))
        .collect();
    let actions = counts.len();
    let mut offenders = Vec::new();
    for entry in entries {
        let key = (entry.record.action.clone(), entry.record.source.clone());
        match counts.get_mut(&key) {
            Some(count) => *count += 1,
            None => offenders.push(format!(
                "entry {} names {} span {}, which was not captured",
                entry.sequence, key.0, key.1
            )),
        }
    }
    let mut unaudited: Vec<String> = counts
        .iter()
        .filter(|(_, &count)| count != 1)
        .map(|((name, id), count)| format!("{name} span {id}: {count} audit entries"))
        .collect();
    unaudited.sort();
    offenders.extend(unaudited);
    Verdict::new(
        "every coordination action is in the audit log",
        offenders.is_empty() && actions > 0,
        "1 audit entry per coordination span (at least 1), none for spans not captured",
        format!(
            "{} coordination spans, {} audit entries, {} discrepancies",
            actions,
            entries.len(),
            offenders.len()
        ),
        offenders,
    )
}

/// The captured spans and the audit log both show `agent` denied `action`.
pub fn denial_audited(
    spans: &[SpanRecord],
    entries: &[AuditEntry],
    agent: &str,
    action: Action,
) -> Verdict {
    let label = action.label();
    let is = |span: &SpanRecord, key: &str, value: &str| {
        span.attr(key).is_some_and(|v| v.matches_text(value))
    };
    let denied_spans = spans
        .iter()
        .filter(|s| s.name == "access.check" && is(s, "agent.id", agent))
        .filter(|s| is(s, "compliance.action", &label) && is(s, "compliance.outcome", "denied"))
        .count();
    let audited = entries
        .iter()
        .filter(|e| e.record.actor == agent && e.record.action == label)
        .filter(|e| e.record.outcome == "denied")
        .map(|e| format!("audit entry {}: {agent} {label} denied", e.sequence))
        .collect::<Vec<_>>();
    Verdict::new(
        format!("{agent} was refused {action}, and the refusal was audited"),
        denied_spans > 0 && !audited.is_empty(),
        "at least 1 denied access.check span and 1 denied audit entry",
        format!(
            "{denied_spans} denied access.check spans, {} denied audit entries",
            audited.len()
        ),
        audited,
    )
}

/// Every planted canary is reported at its file, line and rule, and nothing else is.
pub fn planted_secrets_found(report: &ScanReport, planted: &[Planted]) -> Verdict {
    let located = |p: &Planted| {
        report
            .findings
            .iter()
            .any(|f| f.path == p.path && f.line == p.line && f.rule == p.canary.rule)
    };
    let mut offenders: Vec<String> = planted
        .iter()
        .filter(|p| !located(p))
        .map(|p| format!("missed {} at {}:{}", p.canary.rule, p.path, p.line))
        .collect();
    let unexpected = report.findings.iter().filter(|f| {
        !planted
            .iter()
            .any(|p| f.path == p.path && f.line == p.line && f.rule == p.canary.rule)
    });
    offenders.extend(unexpected.map(|f| format!("unexpected {f}")));
    Verdict::new(
        "every planted credential is reported where it was planted",
        offenders.is_empty() && !planted.is_empty(),
        format!("{} findings, one per planted credential", planted.len()),
        format!(
            "{} findings, {} discrepancies",
            report.findings.len(),
            offenders.len()
        ),
        offenders,
    )
}

/// None of the planted secrets (nor any line of a key block's body) appears in the report as
/// printed, debug-printed or serialised.
pub fn report_hides_secrets(report: &ScanReport, planted: &[Planted]) -> Verdict {
    let json = serde_json::to_string(report).unwrap_or_default();
    let printed = format!("{report}\n{report:?}\n{json}");
    let leaked: Vec<String> = planted
        .iter()
        .filter(|p| {
            let value = &p.canary.value;
            printed.contains(value.as_str())
                || value
                    .lines()
                    .filter(|line| !line.starts_with("-----"))
                    .any(|line| printed.contains(line))
        })
        .map(|p| format!("{} from {}:{} is printed", p.canary.rule, p.path, p.line))
        .collect();
    let mut evidence = leaked.clone();
    if leaked.is_empty() {
        evidence = report.findings.iter().map(ToString::to_string).collect();
    }
    Verdict::new(
        "the scan report never prints a secret",
        leaked.is_empty() && !report.findings.is_empty(),
        "0 planted secrets in the printed, debug and JSON report (of at least 1 finding)",
        format!(
            "{} of {} planted secrets printed",
            leaked.len(),
            planted.len()
        ),
        evidence,
    )
}

/// The scan read at least `files_min` files, reported nothing and suppressed `suppressed`.
pub fn only_allow_listed(report: &ScanReport, files_min: usize, suppressed: usize) -> Verdict {
    let passed = report.findings.is_empty()
        && report.files_scanned >= files_min
        && report.suppressed_count == suppressed;
    Verdict::new(
        "allow-listed placeholders are suppressed, not reported",
        passed,
        format!("0 findings in at least {files_min} files, {suppressed} suppressed"),
        format!(
            "{} findings in {} files, {} suppressed",
            report.findings.len(),
            report.files_scanned,
            report.suppressed_count
        ),
        report.findings.iter().map(ToString::to_string).collect(),
    )
}

/// How a hostile input must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Refused with a validation error naming the field.
    Refused,
    /// Stored, and read back identical.
    Stored,
}

impl Handling {
    /// Parses `refused` or `stored safely`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "refused" => Some(Self::Refused),
            "stored safely" => Some(Self::Stored),
            _ => None,
        }
    }
}

fn read_back(catalog: &WorkCatalog, index: usize, field: InputField) -> Result<String> {
    let record = catalog.get(index)?;
    Ok(record.field(field).unwrap_or_default().to_owned())
}

/// The probe was handled as `expected`, and the records stored before it are unchanged.
pub fn hostile_input_handled(probe: &Probe, catalog: &WorkCatalog, expected: Handling) -> Verdict {
    let field = probe.field;
    let earlier_intact = catalog.digest_of_first(probe.records_before) == probe.digest_before;
    let (handled, observed) = match (&probe.outcome, expected) {
        (
            Err(
                error @ Error::InvalidInput {
                    field: refused,
                    problem,
                },
            ),
            Handling::Refused,
        ) => (
            *refused == field
                && probe.class.explains(problem)
                && catalog.len() == probe.records_before,
            format!("refused: {error}; {} records stored", catalog.len()),
        ),
        (Ok(index), Handling::Stored) => match read_back(catalog, *index, field) {
            Ok(back) => (
                back == probe.sample,
                format!(
                    "stored as record {index}; read back {}",
                    if back == probe.sample {
                        "identical"
                    } else {
                        "different"
                    }
                ),
            ),
            Err(error) => (
                false,
                format!("stored as record {index}, unreadable: {error}"),
            ),
        },
        (Ok(index), Handling::Refused) => (false, format!("stored as record {index}")),
        (Err(error), _) => (false, format!("refused: {error}")),
    };
    let wanted = match expected {
        Handling::Refused => format!("refused for its {}, naming the {field}", probe.class.name()),
        Handling::Stored => format!("the {field} stored and read back identical"),
    };
    Verdict::new(
        format!("hostile {field} is {expected:?}").to_lowercase(),
        handled && earlier_intact,
        format!("{wanted}; earlier records unchanged"),
        format!(
            "{observed}; earlier records {}",
            if earlier_intact {
                "unchanged"
            } else {
                "CHANGED"
            }
        ),
        vec![format!("input: {:?}", truncate(&probe.sample))],
    )
}

fn truncate(text: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 60;
    let mut shown: String = text.chars().take(SHOWN_CHARS_MAX).collect();
    if shown.len() < text.len() {
        shown.push_str(&format!("… ({} bytes)", text.len()));
    }
    shown
}

/// Every stored description reads back identical; refusals (of descriptions only) are
/// allowed when `refusals_allowed`.
pub fn descriptions_read_back(
    catalog: &WorkCatalog,
    outcomes: &[(String, Result<usize>)],
    refusals_allowed: bool,
) -> Verdict {
    let mut offenders = Vec::new();
    let (mut stored, mut refused) = (0, 0);
    for (description, outcome) in outcomes {
        match outcome {
            Ok(index) => match read_back(catalog, *index, InputField::Description) {
                Ok(back) if back == *description => stored += 1,
                Ok(back) => offenders.push(format!(
                    "{:?} read back as {:?}",
                    truncate(description),
                    truncate(&back)
                )),
                Err(error) => offenders.push(format!("record {index}: {error}")),
            },
            Err(Error::InvalidInput {
                field: InputField::Description,
                ..
            }) if refusals_allowed => refused += 1,
            Err(error) => offenders.push(format!("{:?}: {error}", truncate(description))),
        }
    }
    Verdict::new(
        "stored descriptions read back identical",
        offenders.is_empty() && stored > 0,
        if refusals_allowed {
            "each stored (at least 1) and read back identical, or refused as a description"
        } else {
            "every one stored and read back identical"
        },
        format!(
            "{stored} identical, {refused} refused, {} wrong",
            offenders.len()
        ),
        offenders,
    )
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
