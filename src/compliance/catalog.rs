//! A work catalog that stores validated records as JSON text, the way a file-backed store
//! would, and probes that throw hostile input at it.
//!
//! Every field is validated before anything is written, so a refused submission leaves the
//! catalog byte-for-byte as it was; reading a record back parses the stored JSON and validates
//! it again, so what comes out is what a later reader would really see.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::access::Environment;
use super::validation::{self, Description, InputField, InputProblem, WorkType};
use super::validation::{AGENT_ID_LEN_MAX_BYTES, DESCRIPTION_LEN_MAX_BYTES};
use super::validation::{ENVIRONMENT_LEN_MAX_BYTES, WORK_TYPE_LEN_MAX_BYTES};
use crate::error::{Error, Result};

/// A submission as it arrives: untrusted text in every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Who submits.
    pub agent_id: String,
    /// Kind of work.
    pub work_type: String,
    /// Free text.
    pub description: String,
    /// Where it is meant to ship.
    pub environment: String,
}

impl Submission {
    /// A well-formed submission, numbered so that records differ.
    pub fn valid(n: u64) -> Self {
        Self {
            agent_id: format!("agent_{n:020}"),
            work_type: "feature".into(),
            description: format!("Add the login page, part {n}"),
            environment: "staging".into(),
        }
    }

    fn field_mut(&mut self, field: InputField) -> Option<&mut String> {
        match field {
            InputField::AgentId => Some(&mut self.agent_id),
            InputField::WorkType => Some(&mut self.work_type),
            InputField::Description => Some(&mut self.description),
            InputField::Environment => Some(&mut self.environment),
            InputField::Action => None,
        }
    }
}

/// A record that passed validation; the stored form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkRecord {
    /// Who submitted it (text form of an `AgentId`).
    pub agent_id: String,
    /// Kind of work.
    pub work_type: WorkType,
    /// Free text, exactly as given.
    pub description: Description,
    /// Target environment.
    pub environment: Environment,
}

impl WorkRecord {
    /// Validates every field of `submission`.
    pub fn validate(submission: &Submission) -> Result<Self> {
        Ok(Self {
            agent_id: validation::agent_id(&submission.agent_id)?.to_string(),
            work_type: WorkType::parse(&submission.work_type)?,
            description: Description::parse(&submission.description)?,
            environment: validation::environment(&submission.environment)?,
        })
    }

    /// The field as text, as a reader of the stored record sees it.
    pub fn field(&self, field: InputField) -> Option<&str> {
        match field {
            InputField::AgentId => Some(&self.agent_id),
            InputField::WorkType => Some(self.work_type.as_str()),
            InputField::Description => Some(self.description.as_str()),
            InputField::Environment => Some(self.environment.as_str()),
            InputField::Action => None,
        }
    }
}

/// Records stored as one JSON document per line.
#[derive(Debug, Clone, Default)]
pub struct WorkCatalog {
    lines: Vec<String>,
}

impl WorkCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and stores `submission`; returns its index. Nothing is written if any field
    /// is refused.
    pub fn submit(&mut self, submission: &Submission) -> Result<usize> {
        let record = WorkRecord::validate(submission)?;
        let line = serde_json::to_string(&record)
            .map_err(|error| Error::Capture(format!("serialising a work record: {error}")))?;
        self.lines.push(line);
        Ok(self.lines.len() - 1)
    }

    /// Reads record `index` back from its stored JSON, validating it again.
    pub fn get(&self, index: usize) -> Result<WorkRecord> {
        let line = self
            .lines
            .get(index)
            .ok_or_else(|| Error::NoEvidence(format!("the catalog has no record {index}")))?;
        serde_json::from_str(line).map_err(|error| {
            Error::Capture(format!("stored record {index} is unreadable: {error}"))
        })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// SHA-256 (hex) of the first `count` stored lines: equal digests, untouched records.
    pub fn digest_of_first(&self, count: usize) -> String {
        let mut hasher = Sha256::new();
        for line in self.lines.iter().take(count) {
            hasher.update((line.len() as u64).to_be_bytes());
            hasher.update(line.as_bytes());
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Classes of hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostileClass {
    /// Quotes and braces that would end a JSON string and open a new field.
    Quote,
    /// Command substitution, separators, pipes.
    Shell,
    /// `../` segments.
    PathTraversal,
    /// NUL, escape sequences, carriage return.
    Control,
    /// One byte past the field's maximum.
    Oversized,
}

impl HostileClass {
    /// Every class.
    pub const ALL: [HostileClass; 5] = [
        Self::Quote,
        Self::Shell,
        Self::PathTraversal,
        Self::Control,
        Self::Oversized,
    ];

    /// The words a feature file uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quote => "quotes",
            Self::Shell => "shell metacharacters",
            Self::PathTraversal => "path traversal",
            Self::Control => "control characters",
            Self::Oversized => "oversized text",
        }
    }

    /// Parses `name`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|class| class.name() == text.trim())
    }

    /// `valid`, made hostile in this way.
    pub fn sample(self, field: InputField, valid: &str) -> String {
        match self {
            // Short enough that every identifier field refuses it for the quote, not its length.
            Self::Quote => format!("{valid}\",\"admin\":'1"),
            Self::Shell => format!("{valid};$(id)|sh"),
            Self::PathTraversal => format!("../../{valid}/../../etc/passwd"),
            Self::Control => format!("{valid}\u{0}\u{1b}[2J\r"),
            Self::Oversized => {
                let max_bytes = match field {
                    InputField::AgentId => AGENT_ID_LEN_MAX_BYTES,
                    InputField::WorkType => WORK_TYPE_LEN_MAX_BYTES,
                    InputField::Environment => ENVIRONMENT_LEN_MAX_BYTES,
                    InputField::Description | InputField::Action => DESCRIPTION_LEN_MAX_BYTES,
                };
                let mut text = valid.to_owned();
                while text.len() <= max_bytes {
                    text.push_str(valid);
                }
                text
            }
        }
    }
}

impl HostileClass {
    /// Whether `problem` is the one this class of input should be refused for.
    pub fn explains(self, problem: &InputProblem) -> bool {
        matches!(
            (self, problem),
            (Self::Quote, InputProblem::Quote { .. })
                | (Self::Shell, InputProblem::ShellMetacharacter { .. })
                | (Self::PathTraversal, InputProblem::PathTraversal)
                | (Self::Control, InputProblem::ControlCharacter { .. })
                | (Self::Oversized, InputProblem::TooLong { .. })
        )
    }
}

/// One hostile submission and the catalog as it was before it.
#[derive(Debug)]
pub struct Probe {
    /// The field made hostile.
    pub field: InputField,
    /// How.
    pub class: HostileClass,
    /// The hostile value.
    pub sample: String,
    /// What `submit` returned.
    pub outcome: Result<usize>,
    /// Records stored before.
    pub records_before: usize,
    /// `digest_of_first(records_before)` before.
    pub digest_before: String,
}

/// Submits a valid submission whose `field` is made hostile by `class`.
pub fn probe(catalog: &mut WorkCatalog, field: InputField, class: HostileClass) -> Probe {
    let mut submission = Submission::valid(catalog.len() as u64 + 1);
    let sample = submission.field_mut(field).map(|value| {
        *value = class.sample(field, value);
        value.clone()
    });
    let records_before = catalog.len();
    let digest_before = catalog.digest_of_first(records_before);
    let outcome = match sample {
        Some(_) => catalog.submit(&submission),
        None => Err(Error::NoEvidence(format!(
            "a submission has no {field} field"
        ))),
    };
    Probe {
        field,
        class,
        sample: sample.unwrap_or_default(),
        outcome,
        records_before,
        digest_before,
    }
}

/// Characters descriptions are generated from: JSON's and the shell's specials, escapes,
/// separators and non-ASCII text.
const HOSTILE_ALPHABET: &[char] = &[
    '"', '\'', '\\', '/', '{', '}', '[', ']', ':', ',', '$', '`', ';', '|', '&', '<', '>', '.',
    '\n', '\t', ' ', 'a', 'Z', '0', 'é', 'ß', '中', '😀', '\u{2028}', '\u{feff}',
];
/// Characters validation must refuse, mixed in rarely so most descriptions are stored.
const REFUSED_CHARACTERS: &[char] = &['\u{0}', '\u{7f}', '\u{1b}', '\u{85}', '\u{202e}'];
/// Chance, in percent, that a generated character is one validation must refuse.
const REFUSED_CHARACTER_PERCENT: u32 = 1;

/// `count` descriptions of up to `len_chars_max` characters drawn from a hostile alphabet,
/// deterministic for `seed`.
pub fn hostile_descriptions(seed: u64, count: usize, len_chars_max: usize) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pick = move |alphabet: &[char]| alphabet[rng.gen_range(0..alphabet.len())];
    let mut draws = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    (0..count)
        .map(|_| {
            let len = draws.gen_range(0..=len_chars_max);
            (0..len)
                .map(|_| {
                    if draws.gen_range(0..100) < REFUSED_CHARACTER_PERCENT {
                        pick(REFUSED_CHARACTERS)
                    } else {
                        pick(HOSTILE_ALPHABET)
                    }
                })
                .collect()
        })
        .collect()
}

/// Stores each description in an otherwise valid submission; returns each with its outcome.
pub fn store_descriptions(
    catalog: &mut WorkCatalog,
    descriptions: Vec<String>,
) -> Vec<(String, Result<usize>)> {
    descriptions
        .into_iter()
        .map(|description| {
            let submission = Submission {
                description: description.clone(),
                ..Submission::valid(catalog.len() as u64 + 1)
            };
            let outcome = catalog.submit(&submission);
            (description, outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a refused submission leaves the stored records byte-for-byte unchanged.
    #[test]
    fn refusal_leaves_catalog_untouched() {
        let mut catalog = WorkCatalog::new();
        assert!(catalog.submit(&Submission::valid(1)).is_ok());
        let before = catalog.digest_of_first(1);
        let result = probe(&mut catalog, InputField::WorkType, HostileClass::Quote);
        assert!(matches!(
            result.outcome,
            Err(Error::InvalidInput {
                field: InputField::WorkType,
                ..
            })
        ));
        assert_eq!((catalog.len(), catalog.digest_of_first(1)), (1, before));
    }

    // Proves every generated description is either refused as a description or read back identical.
    #[test]
    fn generated_descriptions_round_trip_or_are_refused() {
        let mut catalog = WorkCatalog::new();
        let outcomes = store_descriptions(&mut catalog, hostile_descriptions(9, 300, 40));
        let mut stored = 0;
        for (description, outcome) in outcomes {
            match outcome {
                Ok(index) => {
                    let back = catalog
                        .get(index)
                        .map(|r| r.description.as_str().to_owned());
                    assert_eq!(back.ok().as_deref(), Some(description.as_str()));
                    stored += 1;
                }
                Err(Error::InvalidInput {
                    field: InputField::Description,
                    ..
                }) => {
                    assert!(description.chars().any(|c| REFUSED_CHARACTERS.contains(&c)));
                }
                Err(other) => panic!("{description:?}: {other}"),
            }
        }
        assert!(stored > 50, "only {stored} stored");
    }

    // Proves each hostile sample really is past its field's limit or contains its class.
    #[test]
    fn samples_are_hostile() {
        let long = HostileClass::Oversized.sample(InputField::AgentId, "agent_1");
        assert!(long.len() > AGENT_ID_LEN_MAX_BYTES);
        assert!(HostileClass::PathTraversal
            .sample(InputField::Environment, "dev")
            .contains("../"));
        assert!(HostileClass::Control
            .sample(InputField::Description, "x")
            .contains('\u{0}'));
    }
}
