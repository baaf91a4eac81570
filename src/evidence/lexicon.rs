//! The vocabulary a spec writer writes against (`swarmspec vocabulary`, and a section of
//! `docs/steps.md`): every span name with the attributes it carries, each attribute's type
//! and, where it is an enumeration, its values; and the values of every enumerated step
//! parameter (roles, environments, tamper kinds, …).
//!
//! Value sets come from the code's own constants (`Role::ALL`, `Environment::ALL`,
//! `BreakerState`, …) where the code has one; the span table is kept true by a test that
//! runs swarms and deploys and fails on any span, attribute, type or value not listed here.

use std::fmt::Write as _;

use serde::Serialize;

use crate::compliance::catalog::HostileClass;
use crate::compliance::chain::Tamper;
use crate::coordination::breaker::BreakerState;
use crate::coordination::Role;
use crate::deployment::environment::Environment;
use crate::swarm::Mode;

/// One attribute key: its type and, for an enumeration, the values it takes.
#[derive(Debug, Clone, Serialize)]
pub struct AttributeDoc {
    /// The key, e.g. `work.outcome`.
    pub key: &'static str,
    /// `text`, `int`, `float` or `bool`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The values it takes, when it is an enumeration; empty otherwise.
    pub values: Vec<String>,
}

/// One span name and the attribute keys its spans carry.
#[derive(Debug, Clone, Serialize)]
pub struct SpanDoc {
    /// The span name.
    pub name: &'static str,
    /// Keys its spans carry (some only on some spans: `work.holder` on a conflict).
    pub attributes: &'static [&'static str],
}

/// One enumerated step parameter and its values.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterDoc {
    /// What the values name (`role`, `environment`, …).
    pub name: &'static str,
    /// The values a feature file may write.
    pub values: Vec<String>,
}

/// The whole vocabulary.
#[derive(Debug, Clone, Serialize)]
pub struct Lexicon {
    /// Span names with their attributes.
    pub spans: Vec<SpanDoc>,
    /// Attribute keys with types and value sets.
    pub attributes: Vec<AttributeDoc>,
    /// Enumerated step parameters.
    pub parameters: Vec<ParameterDoc>,
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values.into_iter().map(str::to_owned).collect()
}

fn roles() -> Vec<String> {
    strings(Role::ALL.iter().map(|r| r.as_str()))
}

fn environments() -> Vec<String> {
    strings(Environment::ALL.iter().map(|e| e.as_str()))
}

fn breaker_states() -> Vec<String> {
    let states = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];
    strings(states.iter().map(|s| s.as_str()))
}

/// Which spans carry which attributes (checked against real runs by the tests).
const SPANS: &[(&str, &[&str])] = &[
    (
        "swarm.run",
        &[
            "swarm.mode",
            "swarm.seed",
            "swarm.items",
            "swarm.agents",
            "swarm.processes",
        ],
    ),
    ("agent.register", &["agent.id", "agent.role", "agent.team"]),
    ("agent.session", &["agent.id", "agent.role", "agent.team"]),
    (
        "agent.heartbeat",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.attempt",
        ],
    ),
    ("agent.crash", &["agent.id", "agent.role", "agent.team"]),
    (
        "work.submit",
        &[
            "work.item_id",
            "work.type",
            "work.team",
            "swarm.mode",
            "swarm.seed",
            "swarm.items",
            "swarm.agents",
        ],
    ),
    (
        "work.claim",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.attempt",
            "work.holder",
        ],
    ),
    (
        "work.progress",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.attempt",
            "work.progress",
        ],
    ),
    (
        "work.complete",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.attempt",
        ],
    ),
    (
        "work.release",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.attempt",
        ],
    ),
    (
        "work.handoff",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.attempt",
            "work.from_role",
            "work.to_role",
        ],
    ),
    ("work.fail", &["work.item_id", "work.failure_reason"]),
    (
        "lease.reap",
        &[
            "swarm.component",
            "work.item_id",
            "work.stage",
            "work.outcome",
            "work.previous_holder",
        ],
    ),
    ("reaper.session", &["swarm.component"]),
    (
        "circuit.transition",
        &[
            "agent.id",
            "agent.role",
            "agent.team",
            "circuit.from",
            "circuit.to",
        ],
    ),
    (
        "request",
        &[
            "client.agent",
            "client.count",
            "deploy.environment",
            "deploy.instance",
            "deploy.version",
            "request.outcome",
        ],
    ),
    ("client.traffic", &["client.count"]),
    (
        "deploy.run",
        &[
            "deploy.environment",
            "deploy.version",
            "deploy.previous_version",
            "deploy.strategy",
            "deploy.instance_count",
            "deploy.outcome",
        ],
    ),
    (
        "deploy.batch",
        &[
            "deploy.environment",
            "deploy.version",
            "deploy.strategy",
            "deploy.batch_index",
            "deploy.batch_instances",
            "deploy.traffic_percent",
            "deploy.outcome",
        ],
    ),
    (
        "deploy.health_check",
        &[
            "deploy.environment",
            "deploy.version",
            "deploy.instance",
            "deploy.check",
            "deploy.healthy",
            "deploy.ready",
            "deploy.reason",
            "health.samples",
            "health.error_rate",
            "health.latency_ms_p99",
        ],
    ),
    (
        "deploy.check",
        &[
            "deploy.environment",
            "deploy.check",
            "deploy.instance",
            "deploy.version",
            "deploy.outcome",
        ],
    ),
    (
        "deploy.rollback",
        &[
            "deploy.environment",
            "deploy.version",
            "deploy.strategy",
            "deploy.restored_version",
            "deploy.reason",
        ],
    ),
    (
        "deploy.promotion",
        &[
            "deploy.environment",
            "deploy.from",
            "deploy.to",
            "deploy.version",
            "deploy.outcome",
            "deploy.reason",
        ],
    ),
    (
        "deploy.instance",
        &["deploy.environment", "deploy.instance", "deploy.version"],
    ),
    (
        "access.check",
        &[
            "agent.id",
            "agent.role",
            "compliance.action",
            "compliance.outcome",
            "deploy.environment",
        ],
    ),
    (
        "audit.append",
        &[
            "agent.id",
            "compliance.action",
            "compliance.outcome",
            "compliance.audit_sequence",
            "compliance.audit_hash",
        ],
    ),
    ("adapter.setup", &[]),
];

/// Attribute types, and the enumerations among them by name (`None`: not an enumeration).
const TYPES: &[(&str, &str, Option<&str>)] = &[
    ("agent.id", "text", None),
    ("agent.role", "text", Some("role")),
    ("agent.team", "text", None),
    ("work.item_id", "text", None),
    ("work.stage", "int", None),
    ("work.outcome", "text", Some("work.outcome")),
    ("work.progress", "int", None),
    ("work.attempt", "int", None),
    ("work.type", "text", None),
    ("work.team", "text", None),
    ("work.ok", "bool", None),
    ("work.holder", "text", None),
    ("work.previous_holder", "text", None),
    ("work.failure_reason", "text", None),
    ("work.from_role", "text", Some("role")),
    ("work.to_role", "text", Some("role")),
    ("swarm.mode", "text", Some("mode")),
    ("swarm.seed", "int", None),
    ("swarm.items", "int", None),
    ("swarm.agents", "int", None),
    ("swarm.processes", "int", None),
    ("swarm.component", "text", None),
    ("circuit.from", "text", Some("breaker")),
    ("circuit.to", "text", Some("breaker")),
    ("request.outcome", "text", None),
    ("client.agent", "int", None),
    ("client.count", "int", None),
    ("deploy.environment", "text", Some("environment")),
    ("deploy.version", "text", None),
    ("deploy.outcome", "text", None),
    ("deploy.check", "text", None),
    ("deploy.reason", "text", None),
    ("deploy.instance", "text", None),
    ("deploy.strategy", "text", None),
    ("deploy.healthy", "bool", None),
    ("deploy.ready", "bool", None),
    ("deploy.from", "text", Some("environment")),
    ("deploy.to", "text", Some("environment")),
    ("deploy.traffic_percent", "int", None),
    ("deploy.restored_version", "text", None),
    ("deploy.previous_version", "text", None),
    ("deploy.instance_count", "int", None),
    ("deploy.batch_instances", "int", None),
    ("deploy.batch_index", "int", None),
    ("health.samples", "int", None),
    ("health.error_rate", "float", None),
    ("health.latency_ms_p99", "float", None),
    ("compliance.outcome", "text", None),
    ("compliance.action", "text", None),
    ("compliance.audit_sequence", "int", None),
    ("compliance.audit_hash", "text", None),
];

/// The values of the enumeration called `name`.
fn enumeration(name: &str) -> Vec<String> {
    match name {
        "role" => roles(),
        "environment" => environments(),
        "breaker" => breaker_states(),
        "mode" => strings([Mode::Deterministic.as_str(), Mode::Throughput.as_str()]),
        "work.outcome" => strings([
            "claimed",
            "conflict",
            "wrong_role",
            "ok",
            "lease_lost",
            "completed",
            "handed_off",
            "refused",
            "error",
            "reaped",
        ]),
        "bool" => strings(["true", "false"]),
        _ => Vec::new(),
    }
}

/// The vocabulary.
pub fn lexicon() -> Lexicon {
    let spans = SPANS
        .iter()
        .map(|(name, attributes)| SpanDoc { name, attributes })
        .collect();
    let attributes = TYPES
        .iter()
        .map(|(key, kind, values)| AttributeDoc {
            key,
            kind,
            values: values.map(enumeration).unwrap_or_default(),
        })
        .collect();
    let parameters = vec![
        ParameterDoc {
            name: "role ({role})",
            values: roles(),
        },
        ParameterDoc {
            name: "environment ({environment})",
            values: environments(),
        },
        ParameterDoc {
            name: "mode (`{word} mode`)",
            values: enumeration("mode"),
        },
        ParameterDoc {
            name: "contention (`the agents race {word}`)",
            values: strings(["high", "spread"]),
        },
        ParameterDoc {
            name: "tamper kind (`… has its entry {int} {word}`)",
            values: strings(Tamper::WORDS),
        },
        ParameterDoc {
            name: "hostile input (`an agent id containing … is submitted`)",
            values: strings(HostileClass::ALL.iter().map(|c| c.name())),
        },
        ParameterDoc {
            name: "access action (`… asks to …`)",
            values: strings(["claim", "complete", "hand off", "deploy to <environment>"]),
        },
        ParameterDoc {
            name: "outcome word in {spans} (`claimed work.claim`)",
            values: enumeration("work.outcome"),
        },
        ParameterDoc {
            name: "comparison ({comparison})",
            values: strings(["below", "under", "at most", "at least", "above", "exactly"]),
        },
    ];
    Lexicon {
        spans,
        attributes,
        parameters,
    }
}

/// The vocabulary as Markdown (a section of `docs/steps.md`, and `swarmspec vocabulary`).
pub fn markdown(lexicon: &Lexicon) -> String {
    let mut out = String::from(
        "## Vocabulary\n\nSpan names swarmspec emits, with the attributes each carries:\n\n",
    );
    for span in &lexicon.spans {
        let _ = writeln!(
            out,
            "- `{}`: {}",
            span.name,
            span.attributes
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push_str("\nAttributes, with their type and, for an enumeration, its values:\n\n");
    for attribute in &lexicon.attributes {
        let _ = write!(out, "- `{}` ({})", attribute.key, attribute.kind);
        if !attribute.values.is_empty() {
            let _ = write!(out, ": {}", attribute.values.join(", "));
        }
        out.push('\n');
    }
    out.push_str("\nEnumerated step parameters:\n\n");
    for parameter in &lexicon.parameters {
        let _ = writeln!(out, "- {}: {}", parameter.name, parameter.values.join(", "));
    }
    out
}

#[cfg(test)]
#[path = "lexicon_tests.rs"]
mod tests;
