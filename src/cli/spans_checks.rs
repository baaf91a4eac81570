//! The two checks `spans check` runs without `--feature`, each passed, failed or not
//! applicable, and the read report they stand on, as text or one JSON document.
//!
//! A check whose subject is absent from the file (no `work.claim` span for the double-hold
//! check, no span at all for the error check) says NOT APPLICABLE with the reason instead of
//! passing or failing: a check with nothing to judge tells nothing about the coordinator, and
//! usually means the tool names its spans differently (`--mapping`).

use serde::Serialize;

use swarmspec::evidence::{self, Verdict};
use swarmspec::findings::{Finding, Findings};
use swarmspec::ingest::mapping::MapReport;
use swarmspec::ingest::{IngestReport, Ingested, SKIPPED_LISTED_MAX};
use swarmspec::telemetry::SpanRecord;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Judged, and held.
    Passed,
    /// Judged, and did not hold.
    Failed,
    /// Nothing in the file for it to judge.
    NotApplicable,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    /// What was checked.
    pub check: String,
    /// How it came out.
    pub status: Status,
    /// Why it did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The expectation (empty when not applicable).
    pub expected: String,
    /// What the evidence showed (empty when not applicable).
    pub observed: String,
    /// Offending spans, refusals, and other detail.
    pub evidence: Vec<String>,
    /// What the check could not see but a reader should know.
    pub warnings: Vec<String>,
}

impl CheckOutcome {
    fn judged(verdict: Verdict) -> Self {
        Self {
            status: if verdict.passed {
                Status::Passed
            } else {
                Status::Failed
            },
            check: verdict.check,
            reason: None,
            expected: verdict.expected,
            observed: verdict.observed,
            evidence: verdict.evidence,
            warnings: Vec::new(),
        }
    }

    fn not_applicable(check: &str, reason: String) -> Self {
        Self {
            check: check.to_owned(),
            status: Status::NotApplicable,
            reason: Some(reason),
            expected: String::new(),
            observed: String::new(),
            evidence: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl std::fmt::Display for CheckOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Status::NotApplicable => write!(
                f,
                "NOT APPLICABLE {}: {}",
                self.check,
                self.reason.as_deref().unwrap_or_default()
            )?,
            status => {
                let word = if status == Status::Passed {
                    "PASS"
                } else {
                    "FAIL"
                };
                write!(
                    f,
                    "{word} {} (expected {}; observed {})",
                    self.check, self.expected, self.observed
                )?;
                for line in &self.evidence {
                    write!(f, "\n    - {line}")?;
                }
            }
        }
        for warning in &self.warnings {
            write!(f, "\n  WARNING {warning}")?;
        }
        Ok(())
    }
}

const HOLD_CHECK: &str = "no work item held by two agents at the same time";
const ERROR_CHECK: &str = "no span has status error";

/// The double-hold check, not applicable without a successful claim to reconstruct a hold
/// from: `no_overlapping_holds` alone would fail such a file, for a reason that is not the
/// coordinator's.
fn double_hold(ingested: &Ingested) -> CheckOutcome {
    let claims: Vec<&SpanRecord> = ingested
        .spans
        .iter()
        .filter(|span| span.name == "work.claim")
        .collect();
    if claims.is_empty() {
        return CheckOutcome::not_applicable(
            HOLD_CHECK,
            "no work.claim span in the file; if the tool names them differently, pass --mapping"
                .into(),
        );
    }
    if evidence::history::holds(&ingested.spans).is_empty() {
        let mut outcomes: Vec<String> = claims
            .iter()
            .filter_map(|span| span.attr_text("work.outcome"))
            .collect();
        outcomes.sort();
        outcomes.dedup();
        let seen = if outcomes.is_empty() {
            "none carries work.outcome".to_owned()
        } else {
            format!("their work.outcome values: {}", outcomes.join(", "))
        };
        return CheckOutcome::not_applicable(
            HOLD_CHECK,
            format!(
                "{} work.claim spans, but none is a successful claim (work.outcome = claimed, \
                 with work.item_id and agent.id; {seen}); if the tool names them differently, \
                 pass --mapping",
                claims.len()
            ),
        );
    }
    let verdict = evidence::history::no_overlapping_holds(&ingested.spans);
    CheckOutcome::judged(evidence::ingestion::qualified(verdict, &ingested.report))
}

/// The error check, warned of errors in fragments it could not read: those are failures it
/// did not judge, and a PASS alone would hide them.
fn no_error(ingested: &Ingested) -> CheckOutcome {
    let mut outcome = if ingested.spans.is_empty() {
        CheckOutcome::not_applicable(ERROR_CHECK, "no span in the file".into())
    } else {
        let verdict = evidence::ingestion::no_error_spans(&ingested.spans);
        CheckOutcome::judged(evidence::ingestion::qualified(verdict, &ingested.report))
    };
    let report = &ingested.report;
    if report.error_status_total > 0 {
        let lines: Vec<String> = report
            .error_status_lines()
            .iter()
            .map(ToString::to_string)
            .collect();
        outcome.warnings.push(format!(
            "{} skipped fragments carry an error status; they were not judged (lines {})",
            report.error_status_total,
            lines.join(", ")
        ));
    }
    outcome
}

/// Both checks on `ingested`.
pub fn run(ingested: &Ingested) -> Vec<CheckOutcome> {
    vec![double_hold(ingested), no_error(ingested)]
}

/// The exit rule: success only when no check failed and at least one applied, since a run
/// where nothing applied has judged nothing.
pub fn passed(outcomes: &[CheckOutcome]) -> bool {
    outcomes.iter().all(|o| o.status != Status::Failed)
        && outcomes.iter().any(|o| o.status != Status::NotApplicable)
}

/// The skipped fragments as findings: kind = the reason's class.
pub fn skipped_findings(report: &IngestReport) -> Findings {
    report
        .skipped
        .iter()
        .map(|skipped| {
            let detail = if skipped.error_status {
                format!("{} (carries an error status)", skipped.reason)
            } else {
                skipped.reason.clone()
            };
            Finding::new(skipped.kind.key(), format!("line {}", skipped.line), detail)
        })
        .collect()
}

/// The `--strict` rule's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Strict {
    /// Whether `--strict` was given.
    pub asked: bool,
    /// Whether every fragment was a span (always true when not asked).
    pub passed: bool,
}

/// The read report as JSON shows it: the report, and the bound on how many it lists.
#[derive(Debug, Serialize)]
pub struct ReadJson<'a> {
    /// What the reader found.
    #[serde(flatten)]
    pub report: &'a IngestReport,
    /// How many skipped fragments are listed at most (`skipped_total` counts them all).
    pub skipped_listed_max: usize,
}

/// The one document `--json` writes.
#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    /// The span file.
    pub file: String,
    /// What was read and skipped.
    pub read: ReadJson<'a>,
    /// The mappings applied.
    pub mappings: &'a MapReport,
    /// Every check.
    pub checks: &'a [CheckOutcome],
    /// The `--strict` rule.
    pub strict: Strict,
    /// The exit rule's result: exit 0 exactly when true.
    pub passed: bool,
}

impl<'a> CheckJson<'a> {
    /// The document for one check run.
    pub fn new(
        file: String,
        report: &'a IngestReport,
        mappings: &'a MapReport,
        checks: &'a [CheckOutcome],
        strict: Strict,
    ) -> Self {
        let passed = passed(checks) && strict.passed;
        Self {
            file,
            read: ReadJson {
                report,
                skipped_listed_max: SKIPPED_LISTED_MAX,
            },
            mappings,
            checks,
            strict,
            passed,
        }
    }
}
