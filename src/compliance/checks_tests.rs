//! Tests of `checks`: each check passes on good input and fails on a broken one, so none of
//! them can pass by construction.

use super::*;
use crate::compliance::access::{AccessPolicy, AccessRequest, Environment};
use crate::compliance::audit::{AuditLog, AuditRecord};
use crate::compliance::canary::ScratchDir;
use crate::compliance::catalog::{probe, HostileClass, Submission};
use crate::compliance::chain::Tamper;
use crate::compliance::secrets::SecretScanner;
use crate::coordination::Role;
use crate::ids::AgentId;
use crate::telemetry::{AttrValue, Capture, SpanStatus};

fn coordination_span(id: u64, name: &str) -> SpanRecord {
    SpanRecord {
        trace_id: 1,
        span_id: id,
        parent_span_id: None,
        name: name.into(),
        start_unix_ns: id,
        end_unix_ns: id,
        status: SpanStatus::Unset,
        attributes: vec![("agent.id".into(), AttrValue::Str("agent_1".into()))],
    }
}

/// A traced log of `count` entries and the spans its appends left.
fn traced_log(count: u64) -> (AuditLog, Vec<SpanRecord>) {
    let capture = Capture::new(1);
    let mut log = AuditLog::traced(capture.tracer().clone());
    for n in 0..count {
        log.append(AuditRecord {
            at_unix_ns: n,
            actor: "agent_1".into(),
            action: "work.claim".into(),
            subject: format!("work_{n}"),
            outcome: "claimed".into(),
            source: "test".into(),
        });
    }
    let spans = capture.spans().unwrap_or_else(|e| panic!("{e}"));
    (log, spans)
}

// Proves the chain check passes on an intact chain and fails when the anchor or a link is wrong.
#[test]
fn chain_check_needs_links_and_anchor() {
    let (log, spans) = traced_log(5);
    assert!(audit_chain_intact(log.entries(), &spans).passed);
    assert!(!audit_chain_intact(log.entries(), &[]).passed, "no anchor");
    let mut cut = log.entries().to_vec();
    cut.pop();
    assert!(!audit_chain_intact(&cut, &spans).passed, "truncated tail");
}

// Proves the tamper check fails on an untampered chain and on a wrongly located fault.
#[test]
fn tamper_check_requires_the_right_location() {
    let (log, spans) = traced_log(6);
    let mut entries = log.entries().to_vec();
    assert!(
        !tampering_located(&entries, &spans, "deleted", 2).passed,
        "intact"
    );
    Tamper::Delete
        .apply(&mut entries, 2)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(tampering_located(&entries, &spans, "deleted", 2).passed);
    assert!(!tampering_located(&entries, &spans, "deleted", 3).passed);
    assert!(!tampering_located(&entries, &spans, "modified", 2).passed);
}

// Proves the coverage check catches a missing, a duplicated and a forged entry.
#[test]
fn coverage_check_catches_missing_duplicate_and_forged() {
    let spans: Vec<_> = (1..=4)
        .map(|id| coordination_span(id, "work.claim"))
        .chain([coordination_span(9, "work.progress")])
        .collect();
    let mut log = AuditLog::new();
    log.append_spans(&spans);
    assert_eq!(log.len(), 4);
    assert!(every_action_audited(&spans, log.entries()).passed);
    assert!(
        !every_action_audited(&spans, &log.entries()[1..]).passed,
        "missing"
    );
    let mut doubled = log.entries().to_vec();
    doubled.push(doubled[0].clone());
    assert!(!every_action_audited(&spans, &doubled).passed, "duplicate");
    let mut forged = log.entries().to_vec();
    forged[0].record.source = "00000000000000ff".into();
    assert!(!every_action_audited(&spans, &forged).passed, "forged");
    assert!(!every_action_audited(&[], &[]).passed, "nothing to audit");
}

// Proves the denial check passes only with both the denied span and the denied audit entry.
#[test]
fn denial_check_needs_span_and_entry() {
    let capture = Capture::new(2);
    let mut audit = AuditLog::traced(capture.tracer().clone());
    let production = Action::Deploy(Environment::Production);
    let ask = |role| AccessRequest {
        agent: AgentId(5),
        role,
        action: production,
        at_unix_ns: 1,
    };
    let agent = AgentId(5).to_string();
    let policy = AccessPolicy::standard();
    assert!(policy.check(&ask(Role::Release), &mut audit).is_ok());
    let spans = capture.spans().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !denial_audited(&spans, audit.entries(), &agent, production).passed,
        "allowed"
    );
    assert!(policy.check(&ask(Role::Developer), &mut audit).is_err());
    let spans = capture.spans().unwrap_or_else(|e| panic!("{e}"));
    assert!(denial_audited(&spans, audit.entries(), &agent, production).passed);
    assert!(
        !denial_audited(&spans, &[], &agent, production).passed,
        "not audited"
    );
    assert!(audit_chain_intact(audit.entries(), &spans).passed);
}

// Proves the scan checks fail on a missed canary, a leaked secret and an unsuppressed finding.
#[test]
fn scan_checks_fail_on_misses_and_leaks() {
    let dir = ScratchDir::new().unwrap_or_else(|e| panic!("{e}"));
    let planted = dir.plant(4).unwrap_or_else(|e| panic!("{e}"));
    let report = SecretScanner::new()
        .scan_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(planted_secrets_found(&report, &planted).passed);
    assert!(report_hides_secrets(&report, &planted).passed);
    let mut missing = report.clone();
    missing.findings.pop();
    assert!(!planted_secrets_found(&missing, &planted).passed);
    let mut leaky = report.clone();
    leaky.findings[0].redacted = planted[0].canary.value.clone();
    assert!(!report_hides_secrets(&leaky, &planted).passed);
    assert!(!only_allow_listed(&report, 1, 0).passed, "findings present");
    let clean = ScanReport {
        files_scanned: 1,
        suppressed_count: 2,
        ..ScanReport::default()
    };
    assert!(only_allow_listed(&clean, 1, 2).passed);
    assert!(
        !only_allow_listed(&clean, 1, 1).passed,
        "wrong suppressed count"
    );
}

// Proves the hostile-input check tells refused from stored, and catches a changed catalog.
#[test]
fn hostile_input_check_tells_outcomes_apart() {
    let mut catalog = WorkCatalog::new();
    assert!(catalog.submit(&Submission::valid(1)).is_ok());
    let refused = probe(&mut catalog, InputField::AgentId, HostileClass::Shell);
    assert!(hostile_input_handled(&refused, &catalog, Handling::Refused).passed);
    assert!(!hostile_input_handled(&refused, &catalog, Handling::Stored).passed);
    let stored = probe(&mut catalog, InputField::Description, HostileClass::Quote);
    assert!(hostile_input_handled(&stored, &catalog, Handling::Stored).passed);
    assert!(!hostile_input_handled(&stored, &catalog, Handling::Refused).passed);
    let mut misexplained = probe(&mut catalog, InputField::Environment, HostileClass::Control);
    assert!(hostile_input_handled(&misexplained, &catalog, Handling::Refused).passed);
    misexplained.class = HostileClass::Oversized;
    assert!(
        !hostile_input_handled(&misexplained, &catalog, Handling::Refused).passed,
        "wrong reason"
    );
    let mut tampered = stored;
    tampered.digest_before = "0".repeat(64);
    assert!(!hostile_input_handled(&tampered, &catalog, Handling::Stored).passed);
}

// Proves the round-trip check fails on a refusal it does not allow and on a wrong read-back.
#[test]
fn round_trip_check_fails_on_refusal_and_mismatch() {
    let mut catalog = WorkCatalog::new();
    let texts = vec!["a \"quoted\" text".to_owned(), "bell \u{7}".to_owned()];
    let outcomes = crate::compliance::catalog::store_descriptions(&mut catalog, texts);
    assert!(descriptions_read_back(&catalog, &outcomes, true).passed);
    assert!(!descriptions_read_back(&catalog, &outcomes, false).passed);
    let swapped = vec![("something else".to_owned(), Ok(0))];
    assert!(!descriptions_read_back(&catalog, &swapped, true).passed);
}
