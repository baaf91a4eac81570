//! The names swarmspec's own spans use, and the guard that keeps a `Then` from passing on a
//! name nothing carries.
//!
//! `no "work.claims" span has status error` passes on any evidence: no span has that
//! (misspelt) name, so none has an error. A step is *vacuous* when a span name, attribute key
//! or outcome it names is carried by no span in the evidence. Such a step fails, listing the
//! recorded names closest first, unless it states absence on purpose (`exactly 0 …`,
//! `at most …`) of a name the vocabulary knows: "exactly 0 `deploy.rollback` spans" is a
//! real claim about a real span that happened not to occur.

use std::collections::BTreeSet;

use super::Verdict;
use crate::telemetry::SpanRecord;

/// Span names swarmspec's swarm, deploy simulation and compliance checks emit.
pub const SPAN_NAMES: &[&str] = &[
    "swarm.run",
    "agent.register",
    "agent.session",
    "agent.heartbeat",
    "agent.crash",
    "work.submit",
    "work.claim",
    "work.progress",
    "work.complete",
    "work.release",
    "work.handoff",
    "work.fail",
    "lease.reap",
    "reaper.session",
    "circuit.transition",
    "request",
    "client.traffic",
    "deploy.run",
    "deploy.batch",
    "deploy.health_check",
    "deploy.check",
    "deploy.rollback",
    "deploy.promotion",
    "deploy.instance",
    "access.check",
    "audit.append",
    "adapter.setup",
];

/// Attribute keys those spans carry.
pub const ATTRIBUTE_KEYS: &[&str] = &[
    "agent.id",
    "agent.role",
    "agent.team",
    "work.item_id",
    "work.stage",
    "work.outcome",
    "work.progress",
    "work.attempt",
    "work.type",
    "work.team",
    "work.ok",
    "work.holder",
    "work.previous_holder",
    "work.failure_reason",
    "work.from_role",
    "work.to_role",
    "swarm.mode",
    "swarm.seed",
    "swarm.items",
    "swarm.agents",
    "swarm.processes",
    "swarm.component",
    "circuit.from",
    "circuit.to",
    "request.outcome",
    "client.agent",
    "client.count",
    "deploy.environment",
    "deploy.version",
    "deploy.outcome",
    "deploy.check",
    "deploy.reason",
    "deploy.instance",
    "deploy.strategy",
    "deploy.healthy",
    "deploy.ready",
    "deploy.from",
    "deploy.to",
    "deploy.traffic_percent",
    "deploy.restored_version",
    "deploy.previous_version",
    "deploy.instance_count",
    "deploy.batch_instances",
    "deploy.batch_index",
    "health.samples",
    "health.error_rate",
    "health.latency_ms_p99",
    "compliance.outcome",
    "compliance.action",
    "compliance.audit_sequence",
    "compliance.audit_hash",
];

/// Whether a step states that something is absent on purpose (`exactly 0`, `at most N`), so
/// a known name that no span carries is the expected answer, not a typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// The step is about spans that must exist (`every`, `at least`, `exactly N > 0`, …).
    Present,
    /// The step allows none at all.
    MayBeAbsent,
}

/// `names`, closest to `wanted` first, at most ten of them.
fn closest_first<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut sorted: Vec<&str> = names.into_iter().collect();
    sorted.sort_by_key(|name| (super::spelling::edit_distance(wanted, name), *name));
    sorted.truncate(10);
    sorted
}

fn vacuous(what: &str, wanted: &str, recorded: &BTreeSet<&str>) -> Verdict {
    let list = closest_first(wanted, recorded.iter().copied());
    let missing = match what {
        "span name" => format!("no span named «{wanted}» was recorded"),
        _ => format!("no span carries the attribute «{wanted}»"),
    };
    Verdict::new(
        format!("«{wanted}» is one of the {what}s the evidence carries"),
        false,
        format!("a span with the {what} «{wanted}», as the step names it"),
        missing,
        vec![if list.is_empty() {
            "the evidence holds no spans".to_owned()
        } else {
            format!("recorded {what}s, closest first: {}", list.join(", "))
        }],
    )
}

/// A failing verdict when `name` is a span name no span carries (and, for an absence step,
/// not one swarmspec emits); `None` when the step is not vacuous.
pub fn span_name_guard(spans: &[SpanRecord], name: &str, intent: Intent) -> Option<Verdict> {
    if spans.iter().any(|s| s.name == name) {
        return None;
    }
    if intent == Intent::MayBeAbsent && SPAN_NAMES.contains(&name) {
        return None;
    }
    let recorded: BTreeSet<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    Some(vacuous("span name", name, &recorded))
}

/// A failing verdict when `key` is an attribute no span carries (and, for an absence step,
/// not one swarmspec emits); `None` when the step is not vacuous.
pub fn attribute_guard(spans: &[SpanRecord], key: &str, intent: Intent) -> Option<Verdict> {
    if spans.iter().any(|s| s.attr(key).is_some()) {
        return None;
    }
    if intent == Intent::MayBeAbsent && ATTRIBUTE_KEYS.contains(&key) {
        return None;
    }
    let recorded: BTreeSet<&str> = spans
        .iter()
        .flat_map(|s| s.attributes.iter().map(|(k, _)| &**k))
        .collect();
    Some(vacuous("attribute key", key, &recorded))
}

/// The first guard that fires for a step about spans `name` (with attribute `key`, if any).
pub fn guard(
    spans: &[SpanRecord],
    name: &str,
    key: Option<&str>,
    intent: Intent,
) -> Option<Verdict> {
    span_name_guard(spans, name, intent)
        .or_else(|| key.and_then(|key| attribute_guard(spans, key, intent)))
}

#[cfg(test)]
#[path = "vocabulary_tests.rs"]
mod tests;
