//! The conditions a claim's statement names ("with 100 or more agents racing", "on the real
//! clock", "8 OS processes of 50 agents"), and the run record each scenario keeps of what it
//! actually ran. A measurement counts for a claim only when its run meets every condition:
//! "zero double holds with 100 agents racing" is not evidenced by 4 agents on one thread.
//!
//! Keys are a fixed vocabulary, each numeric or textual, so a ledger that misspells one is
//! refused at load time instead of silently matching nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One fact of a run record: a count, or a word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordValue {
    /// A count (agents, processes, cores…).
    Number(f64),
    /// A word (clock, contention, system…).
    Text(String),
}

impl std::fmt::Display for RecordValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordValue::Number(n) => write!(f, "{n}"),
            RecordValue::Text(t) => f.write_str(t),
        }
    }
}

/// What one scenario actually ran, by condition key. Absent keys were not part of the run
/// (a deploy has no `agents`), so a condition on them is not met.
pub type RunRecord = BTreeMap<String, RecordValue>;

/// Whether a key holds a number or a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Number,
    Text(&'static [&'static str]),
}

/// Every key a condition (and a run record) may use, with its kind and meaning.
const KEYS: &[(&str, KeyKind, &str)] = &[
    (
        "agents",
        KeyKind::Number,
        "agents in the swarm (all processes)",
    ),
    ("items", KeyKind::Number, "work items submitted"),
    (
        "processes",
        KeyKind::Number,
        "OS processes the swarm ran in",
    ),
    (
        "agents_per_process",
        KeyKind::Number,
        "agents in each process",
    ),
    (
        "threads",
        KeyKind::Number,
        "worker threads per process (1 in deterministic mode)",
    ),
    (
        "cores",
        KeyKind::Number,
        "logical cores of the machine that ran it",
    ),
    (
        "clock",
        KeyKind::Text(&["real", "virtual"]),
        "real clock (throughput mode) or virtual",
    ),
    (
        "contention",
        KeyKind::Text(&["high", "spread"]),
        "every agent racing for the same items, or spread",
    ),
    (
        "system",
        KeyKind::Text(&["memory", "file", "command", "spans-file"]),
        "the system under test",
    ),
    (
        "faults",
        KeyKind::Text(&[]),
        "injected faults: none, or their kinds joined by +",
    ),
    (
        "versions",
        KeyKind::Text(&["good", "bad"]),
        "deploys: every deployed version healthy, or not",
    ),
    (
        "engine",
        KeyKind::Text(&[]),
        "the reference engine's discipline: correct, or a mutant's name",
    ),
];

/// Which way a numeric condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Relation {
    AtLeast,
    AtMost,
    More,
    Less,
    Equal,
}

impl Relation {
    fn symbol(self) -> &'static str {
        match self {
            Relation::AtLeast => ">=",
            Relation::AtMost => "<=",
            Relation::More => ">",
            Relation::Less => "<",
            Relation::Equal => "==",
        }
    }

    fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Relation::AtLeast => value >= bound,
            Relation::AtMost => value <= bound,
            Relation::More => value > bound,
            Relation::Less => value < bound,
            Relation::Equal => value == bound,
        }
    }
}

/// One condition of a claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// The run-record key it reads.
    pub key: String,
    #[serde(skip)]
    test: Test,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Number(Relation, f64),
    Text(String),
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.test {
            Test::Number(relation, bound) => {
                write!(f, "{} {} {bound}", self.key, relation.symbol())
            }
            Test::Text(word) => write!(f, "{} = {word}", self.key),
        }
    }
}

/// The condition keys, for error messages and `--help` text.
pub fn known_keys() -> Vec<&'static str> {
    KEYS.iter().map(|(key, _, _)| *key).collect()
}

fn parse_relation(text: &str) -> Option<(Relation, &str)> {
    [
        (">=", Relation::AtLeast),
        ("<=", Relation::AtMost),
        ("==", Relation::Equal),
        (">", Relation::More),
        ("<", Relation::Less),
    ]
    .into_iter()
    .find_map(|(symbol, relation)| {
        text.strip_prefix(symbol)
            .map(|rest| (relation, rest.trim()))
    })
}

impl Condition {
    /// Parses one `key = value` of a ledger's `conditions` table: a number means equality,
    /// a string may start with `>=`, `<=`, `>`, `<` or `==` for numeric keys.
    pub fn parse(key: &str, value: &toml::Value) -> Result<Self, String> {
        let Some((_, kind, _)) = KEYS.iter().find(|(k, _, _)| *k == key) else {
            return Err(format!(
                "unknown condition «{key}»; known: {}",
                known_keys().join(", ")
            ));
        };
        let test = match (kind, value) {
            (KeyKind::Number, toml::Value::Integer(n)) => Test::Number(Relation::Equal, *n as f64),
            (KeyKind::Number, toml::Value::Float(n)) => Test::Number(Relation::Equal, *n),
            (KeyKind::Number, toml::Value::String(text)) => {
                let (relation, rest) =
                    parse_relation(text.trim()).unwrap_or((Relation::Equal, text.trim()));
                let bound: f64 = rest.parse().map_err(|_| {
                    format!("condition {key} = «{text}» is not a comparison with a number, like \">= 100\"")
                })?;
                Test::Number(relation, bound)
            }
            (KeyKind::Text(allowed), toml::Value::String(word)) => {
                if !allowed.is_empty() && !allowed.contains(&word.as_str()) {
                    return Err(format!(
                        "condition {key} = «{word}»: expected one of {}",
                        allowed.join(", ")
                    ));
                }
                Test::Text(word.clone())
            }
            (KeyKind::Number, _) => {
                return Err(format!(
                    "condition {key} needs a number or a comparison like \">= 100\""
                ))
            }
            (KeyKind::Text(_), _) => return Err(format!("condition {key} needs a word in quotes")),
        };
        Ok(Self {
            key: key.to_owned(),
            test,
        })
    }

    /// Why `record` does not meet this condition, or `None` when it does.
    pub fn unmet(&self, record: &RunRecord) -> Option<String> {
        let Some(value) = record.get(&self.key) else {
            return Some(format!("needs {self}; the run records no {}", self.key));
        };
        let met = match (&self.test, value) {
            (Test::Number(relation, bound), RecordValue::Number(n)) => relation.holds(*n, *bound),
            (Test::Text(word), RecordValue::Text(text)) => word == text,
            _ => false,
        };
        (!met).then(|| format!("needs {self}; ran {} = {value}", self.key))
    }
}

/// Every condition `record` fails, as reasons; empty when all are met.
pub fn unmet_all(conditions: &[Condition], record: &RunRecord) -> Vec<String> {
    conditions.iter().filter_map(|c| c.unmet(record)).collect()
}

/// Shorthand for building records.
pub fn number(n: impl Into<f64>) -> RecordValue {
    RecordValue::Number(n.into())
}

/// Shorthand for building records.
pub fn text(word: impl Into<String>) -> RecordValue {
    RecordValue::Text(word.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(key: &str, value: &str) -> Result<Condition, String> {
        let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .expect("toml")
            .remove("v")
            .expect("v");
        Condition::parse(key, &parsed)
    }

    fn record(pairs: &[(&str, RecordValue)]) -> RunRecord {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    // Proves numeric comparisons, words and absent keys decide as a reader expects.
    #[test]
    fn conditions_meet_or_name_the_gap() {
        let agents = condition("agents", "\">= 100\"").expect("valid");
        let clock = condition("clock", "\"real\"").expect("valid");
        let run = record(&[("agents", number(120)), ("clock", text("virtual"))]);
        assert_eq!(agents.unmet(&run), None);
        let why = clock.unmet(&run).expect("unmet");
        assert!(
            why.contains("clock = real") && why.contains("virtual"),
            "{why}"
        );
        let processes = condition("processes", "8").expect("valid");
        assert!(processes
            .unmet(&run)
            .expect("absent")
            .contains("no processes"));
        let small = record(&[("agents", number(4))]);
        assert!(agents
            .unmet(&small)
            .expect("too few")
            .contains("agents = 4"));
    }

    // Proves misspelt keys, bad words and bad numbers are refused with the reason.
    #[test]
    fn bad_conditions_are_refused() {
        assert!(condition("agent", "100")
            .unwrap_err()
            .contains("unknown condition"));
        assert!(condition("clock", "\"fast\"")
            .unwrap_err()
            .contains("real, virtual"));
        assert!(condition("agents", "\">= many\"")
            .unwrap_err()
            .contains("number"));
        assert!(condition("clock", "3").unwrap_err().contains("word"));
    }
}
