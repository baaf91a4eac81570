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

#[path = "lexicon_tables.rs"]
mod tables;
use tables::{SPANS, TYPES};

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
