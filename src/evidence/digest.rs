//! Order-sensitive digests of a run's spans: two runs with the same seed must give the same
//! digest, and when they do not, the first differing span says where they diverged.

use sha2::{Digest, Sha256};

use crate::telemetry::SpanRecord;

fn canonical(span: &SpanRecord) -> String {
    // serde_json of a plain struct is stable: fields in declaration order.
    serde_json::to_string(span).unwrap_or_else(|_| format!("{span:?}"))
}

/// SHA-256 over every span in export order, hex.
pub fn span_digest(spans: &[SpanRecord]) -> String {
    let mut hasher = Sha256::new();
    for span in spans {
        hasher.update(canonical(span).as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The index and both versions of the first span where two runs differ, if any.
pub fn first_divergence(
    left: &[SpanRecord],
    right: &[SpanRecord],
) -> Option<(usize, String, String)> {
    let shown = |span: Option<&SpanRecord>| span.map_or("(no span)".into(), canonical);
    (0..left.len().max(right.len()))
        .find(|&i| left.get(i) != right.get(i))
        .map(|i| (i, shown(left.get(i)), shown(right.get(i))))
}

use super::Verdict;

/// The first two digests are equal (two runs with one seed gave the same events).
pub fn digests_agree(digests: &[String]) -> Verdict {
    let passed = digests.len() == 2 && digests[0] == digests[1];
    Verdict::new(
        "same seed, same event sequence",
        passed,
        "2 identical span digests",
        format!("{} digests: {}", digests.len(), digests.join(" vs ")),
        Vec::new(),
    )
}

/// The last digest differs from the first (a different seed gave different events, so the
/// digest really depends on the run).
pub fn last_digest_differs(digests: &[String]) -> Verdict {
    let passed = digests.len() >= 2 && digests.first() != digests.last();
    Verdict::new(
        "another seed, another event sequence",
        passed,
        "the last digest differs from the first",
        format!("{} digests: {}", digests.len(), digests.join(" vs ")),
        Vec::new(),
    )
}
