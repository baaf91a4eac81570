//! `Verdict`: the outcome of one check, with what was expected, observed, and why.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How an `expect_refuted` verdict's check begins.
const EXPECTED_REFUTATION_PREFIX: &str = "the check «";

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What was checked, in words.
    pub check: String,
    /// Whether the evidence satisfied it.
    pub passed: bool,
    /// The expectation, in words and numbers.
    pub expected: String,
    /// What the evidence showed.
    pub observed: String,
    /// Supporting detail: offending spans, items, agents; or a sample when it passed.
    pub evidence: Vec<String>,
}

impl Verdict {
    /// A verdict that passes when `passed`.
    pub fn new(
        check: impl Into<String>,
        passed: bool,
        expected: impl Into<String>,
        observed: impl Into<String>,
        evidence: Vec<String>,
    ) -> Self {
        Self {
            check: check.into(),
            passed,
            expected: expected.into(),
            observed: observed.into(),
            evidence: super::bounded(evidence),
        }
    }

    /// Whether this verdict is an `expect_refuted` one: its scenario drove a system broken on
    /// purpose, so its figures describe that breakage and count toward no claim.
    pub fn is_expected_refutation(&self) -> bool {
        self.check.starts_with(EXPECTED_REFUTATION_PREFIX)
    }

    /// Passes exactly when `inner` failed and named its evidence: used to show that a check
    /// catches a deliberately broken system.
    pub fn expect_refuted(inner: Verdict) -> Verdict {
        let caught = !inner.passed && !inner.evidence.is_empty();
        Verdict {
            check: format!("{EXPECTED_REFUTATION_PREFIX}{}» fails", inner.check),
            passed: caught,
            expected: format!(
                "refuted with evidence (the system was broken on purpose); {}",
                inner.expected
            ),
            observed: format!(
                "{}; {}",
                if inner.passed {
                    "it passed"
                } else {
                    "it failed"
                },
                inner.observed
            ),
            evidence: inner.evidence,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed { "PASS" } else { "FAIL" };
        write!(
            f,
            "{mark} {}: expected {}; observed {}",
            self.check, self.expected, self.observed
        )?;
        for line in &self.evidence {
            write!(f, "\n    - {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Verdict {}
