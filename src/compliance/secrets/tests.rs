//! The rules on text: each kind found once at its place, the allow-list, placeholders.

use super::*;
use crate::compliance::canary::canaries;

fn scan(text: &str) -> ScanReport {
    SecretScanner::new().scan_text("t.conf", text)
}

// Proves each rule finds its canary, at the right line and column, and reports it once.
#[test]
fn each_rule_finds_its_canary_once() {
    for canary in canaries(3) {
        let text = format!("first line\n  {}\n", canary.text);
        let report = scan(&text);
        let found: Vec<_> = report.findings.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(found, [(canary.rule, 2)], "{:?}: {report}", canary);
        let column = text
            .lines()
            .nth(1)
            .and_then(|line| line.find(&canary.value[..8]));
        assert_eq!(Some(report.findings[0].column - 1), column, "{canary:?}");
    }
}

// Proves the allow-list suppresses marked placeholders and listed fingerprints, and counts them.
#[test]
fn allow_list_suppresses_and_counts() {
    let placeholder = format!("key = AKIA{}", "IOSFODNN7EXAMPLE");
    let report = scan(&placeholder);
    assert_eq!((report.findings.len(), report.suppressed_count), (0, 1));
    let token = canaries(5).swap_remove(2);
    let mut scanner = SecretScanner::new();
    assert_eq!(scanner.scan_text("a", &token.text).findings.len(), 1);
    scanner
        .allow
        .fingerprints
        .insert(fingerprint(token.rule, &token.value));
    let report = scanner.scan_text("a", &token.text);
    assert_eq!((report.findings.len(), report.suppressed_count), (0, 1));
}

// Proves low-entropy placeholders and ordinary code are not reported as secrets.
#[test]
fn low_entropy_and_code_are_not_secrets() {
    let text = "password = \"changeme-changeme\"\nlet token_len = secret.len();\n\
                url = https://host/path\ndb = postgres://app:${DB_PASSWORD}@db/app";
    assert!(scan(text).findings.is_empty(), "{}", scan(text));
    assert!(entropy_bits_per_char("aaaa") < 0.01);
    assert!((entropy_bits_per_char("abcd") - 2.0).abs() < 1e-9);
}
