//! The compliance report: four controls (audit integrity, no secrets, least privilege, input
//! validation), each a `Verdict` with its evidence, computed afresh, never asserted.

use std::path::Path;

use super::access::{AccessPolicy, Action, Environment};
use super::audit::AuditLog;
use super::catalog::{probe, HostileClass, WorkCatalog};
use super::chain::{verify_entries, Tamper};
use super::secrets::SecretScanner;
use super::validation::InputField;
use crate::coordination::Role;
use crate::evidence::Verdict;
use crate::telemetry::SpanRecord;

/// Audit integrity: the run's actions form a chain that verifies, and the same chain with
/// one entry altered does not (so the verification is not a rubber stamp).
pub fn audit_integrity(spans: &[SpanRecord]) -> Verdict {
    let mut log = AuditLog::new();
    log.append_spans(spans);
    let entries = log.entries().to_vec();
    let intact = verify_entries(&entries, None);
    let mut altered = entries.clone();
    let middle = entries.len() / 2;
    let detected = Tamper::Modify.apply(&mut altered, middle).is_ok()
        && verify_entries(&altered, None).is_err();
    let mut evidence = vec![format!("{} entries", entries.len())];
    match &intact {
        Ok(head) => evidence.push(format!("head {head:?}")),
        Err(error) => evidence.push(format!("chain broken: {error}")),
    }
    evidence.push(format!(
        "altering entry {middle} {}",
        if detected {
            "was detected"
        } else {
            "went unnoticed"
        }
    ));
    Verdict::new(
        "control: audit integrity",
        intact.is_ok() && detected && !entries.is_empty(),
        "a non-empty chain that verifies, and detects an altered entry",
        if intact.is_ok() { "intact" } else { "broken" },
        evidence,
    )
}

/// No secrets: the secret scanner finds nothing outside its allow-list under `root`.
pub fn no_secrets(root: &Path) -> Verdict {
    match SecretScanner::new().scan_dir(root) {
        Ok(report) => Verdict::new(
            format!("control: no secrets in {}", root.display()),
            report.findings.is_empty() && report.files_scanned > 0,
            "0 findings in at least 1 file",
            report.to_string(),
            report.findings.iter().map(ToString::to_string).collect(),
        ),
        Err(error) => Verdict::new(
            format!("control: no secrets in {}", root.display()),
            false,
            "a completed scan",
            format!("scan failed: {error}"),
            Vec::new(),
        ),
    }
}

/// Least privilege: only release agents may deploy to production, and every role may do
/// the coordination work its stage needs.
pub fn least_privilege(policy: &AccessPolicy) -> Verdict {
    let mut violations = Vec::new();
    for role in Role::ALL {
        let deploys = policy.permits(role, Action::Deploy(Environment::Production));
        if deploys != (role == Role::Release) {
            violations.push(format!(
                "{role} {} deploy to production",
                if deploys { "may" } else { "may not" }
            ));
        }
        for action in [Action::Claim, Action::Complete, Action::Handoff] {
            if !policy.permits(role, action) {
                violations.push(format!("{role} may not {}", action.label()));
            }
        }
    }
    Verdict::new(
        "control: least privilege",
        violations.is_empty(),
        "production deploys for release agents only; coordination for every role",
        format!(
            "{} violations over {} roles",
            violations.len(),
            Role::ALL.len()
        ),
        violations,
    )
}

/// Input validation: every hostile input class in every field is refused or stored so that
/// it reads back identical, and never changes the records stored before it.
pub fn input_validation() -> Verdict {
    let mut catalog = WorkCatalog::new();
    let mut problems = Vec::new();
    let mut probes = 0;
    let fields = [
        InputField::AgentId,
        InputField::WorkType,
        InputField::Description,
        InputField::Environment,
    ];
    for field in fields {
        for class in HostileClass::ALL {
            probes += 1;
            let result = probe(&mut catalog, field, class);
            let unchanged = catalog.digest_of_first(result.records_before) == result.digest_before;
            let safe = match &result.outcome {
                Err(_) => true,
                Ok(index) => catalog
                    .get(*index)
                    .ok()
                    .and_then(|record| record.field(field).map(|v| v == result.sample))
                    .unwrap_or(false),
            };
            if !(safe && unchanged) {
                problems.push(format!(
                    "{field:?} with {}: stored unsafely or changed earlier records",
                    class.name()
                ));
            }
        }
    }
    Verdict::new(
        "control: input validation",
        problems.is_empty() && probes > 0,
        "every hostile probe refused or stored identical, earlier records unchanged",
        format!("{} of {probes} probes mishandled", problems.len()),
        problems,
    )
}

/// All four controls, in report order.
pub fn report(run_spans: &[SpanRecord], scan_root: &Path) -> Vec<Verdict> {
    vec![
        audit_integrity(run_spans),
        no_secrets(scan_root),
        least_privilege(&AccessPolicy::standard()),
        input_validation(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves least privilege fails for a policy that lets a developer deploy to production.
    #[test]
    fn over_broad_policy_fails() {
        let loose = AccessPolicy::standard()
            .grant(Role::Developer, Action::Deploy(Environment::Production));
        let verdict = least_privilege(&loose);
        assert!(!verdict.passed);
        assert!(
            verdict.evidence[0].contains("developer may deploy"),
            "{verdict}"
        );
        assert!(least_privilege(&AccessPolicy::standard()).passed);
    }

    // Proves audit integrity fails when there is nothing to audit.
    #[test]
    fn empty_run_fails_audit_control() {
        assert!(!audit_integrity(&[]).passed);
    }

    // Proves the scanner control fails on a planted credential.
    #[test]
    fn planted_secret_fails_control() {
        let dir = std::env::temp_dir().join(format!("swarmspec-control-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let key = format!("AKIA{}", "Q7RZ4M2XK9W3B5N8");
        std::fs::write(dir.join("config.env"), format!("aws_key = {key}\n")).expect("write");
        let verdict = no_secrets(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!verdict.passed, "{verdict}");
        assert!(
            !verdict.to_string().contains(&key),
            "the secret must not be printed"
        );
    }
}
