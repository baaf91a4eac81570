//! Input validation for what agents hand the swarm: agent ids, work types, environment names
//! and free-text descriptions.
//!
//! Identifiers end up in span attributes, file names, shell commands of deploy hooks and JSON
//! documents, so they are held to a small alphabet and refused otherwise, with an error that
//! names the field and the problem but never echoes the value. Descriptions are prose: quotes,
//! shell metacharacters and `../` are ordinary text there, so they are stored as data (JSON
//! escapes them) and read back identical; only what can corrupt a terminal or a log line
//! (control and bidirectional-override characters) and oversized values are refused.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error as ThisError;

use super::access::Environment;
use crate::error::{Error, Result};
use crate::ids::AgentId;

/// Longest agent id accepted. A real one (`agent_` and 20 digits) is 26 bytes; the slack only
/// lets a slightly malformed id reach the more precise "not of the form" message.
pub const AGENT_ID_LEN_MAX_BYTES: usize = 64;
/// Longest work type accepted (`feature`, `bug`, `security-fix`, …).
pub const WORK_TYPE_LEN_MAX_BYTES: usize = 32;
/// Longest environment name accepted.
pub const ENVIRONMENT_LEN_MAX_BYTES: usize = 32;
/// Longest description accepted: a few paragraphs, not a document.
pub const DESCRIPTION_LEN_MAX_BYTES: usize = 4096;

/// Which input a validation error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InputField {
    /// An agent's id.
    AgentId,
    /// A work item's type.
    WorkType,
    /// A work item's description.
    Description,
    /// A deployment environment's name.
    Environment,
    /// An action named in an access request.
    Action,
}

impl InputField {
    /// Parses the words a feature file uses (`agent id`, `work type`, …).
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::AgentId,
            Self::WorkType,
            Self::Description,
            Self::Environment,
            Self::Action,
        ]
        .into_iter()
        .find(|field| field.to_string() == text.trim())
    }
}

impl fmt::Display for InputField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AgentId => "agent id",
            Self::WorkType => "work type",
            Self::Description => "description",
            Self::Environment => "environment",
            Self::Action => "action",
        })
    }
}

/// What is wrong with a refused input. Characters are shown escaped (`{:?}`), so the message
/// itself cannot carry a control sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ThisError)]
pub enum InputProblem {
    /// Nothing was given where something is required.
    #[error("it is empty")]
    Empty,
    /// Longer than the field's named maximum.
    #[error("it is {len_bytes} bytes long, more than the {max_bytes} allowed")]
    TooLong {
        /// Its length.
        len_bytes: usize,
        /// The field's maximum.
        max_bytes: usize,
    },
    /// A control or bidirectional-override character.
    #[error("it contains control character U+{code:04X} at byte {position}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        position: usize,
    },
    /// A `..` path segment.
    #[error("it contains a path traversal (`..`)")]
    PathTraversal,
    /// A quote that would end a JSON or shell string.
    #[error("it contains the quote {character:?} at byte {position}")]
    Quote {
        /// The quote.
        character: char,
        /// Its byte offset.
        position: usize,
    },
    /// A character a shell gives meaning to.
    #[error("it contains the shell metacharacter {character:?} at byte {position}")]
    ShellMetacharacter {
        /// The character.
        character: char,
        /// Its byte offset.
        position: usize,
    },
    /// Any other character outside the field's alphabet.
    #[error("it contains {character:?} at byte {position}; allowed: {allowed}")]
    NotAllowed {
        /// The character.
        character: char,
        /// Its byte offset.
        position: usize,
        /// The field's alphabet, in words.
        allowed: &'static str,
    },
    /// Every character is allowed but the shape is wrong.
    #[error("it is not of the form {expected}")]
    Malformed {
        /// The expected shape.
        expected: &'static str,
    },
    /// Well-formed but not one of the known values.
    #[error("it is not one of {known}")]
    Unknown {
        /// The known values.
        known: &'static str,
    },
}

const QUOTES: &[char] = &['"', '\''];
const SHELL_METACHARACTERS: &[char] = &[
    ';', '|', '&', '$', '`', '<', '>', '(', ')', '{', '}', '[', ']', '*', '?', '!', '~', '#', '\\',
    ' ', '=', '%',
];
const IDENTIFIER_ALPHABET: &str = "lowercase ASCII letters, digits, '-' and '_'";

fn refuse<T>(field: InputField, problem: InputProblem) -> Result<T> {
    Err(Error::InvalidInput { field, problem })
}

/// Bidirectional overrides and isolates reorder how text is displayed ("Trojan Source"), so
/// they are treated like control characters.
fn is_control(character: char) -> bool {
    character.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&character)
        || ('\u{2066}'..='\u{2069}').contains(&character)
}

/// The checks every identifier-like field shares, in the order that gives the most telling
/// message: length first (so a huge value costs nothing more), then the hostile classes, then
/// anything else outside the alphabet.
fn identifier(field: InputField, text: &str, max_bytes: usize) -> Result<&str> {
    if text.is_empty() {
        return refuse(field, InputProblem::Empty);
    }
    if text.len() > max_bytes {
        let len_bytes = text.len();
        return refuse(
            field,
            InputProblem::TooLong {
                len_bytes,
                max_bytes,
            },
        );
    }
    if let Some((position, character)) = text.char_indices().find(|&(_, c)| is_control(c)) {
        let code = u32::from(character);
        return refuse(field, InputProblem::ControlCharacter { code, position });
    }
    if text.contains("..") {
        return refuse(field, InputProblem::PathTraversal);
    }
    for (position, character) in text.char_indices() {
        let problem = if QUOTES.contains(&character) {
            InputProblem::Quote {
                character,
                position,
            }
        } else if SHELL_METACHARACTERS.contains(&character) {
            InputProblem::ShellMetacharacter {
                character,
                position,
            }
        } else if character.is_ascii_lowercase()
            || character.is_ascii_digit()
            || character == '-'
            || character == '_'
        {
            continue;
        } else {
            let allowed = IDENTIFIER_ALPHABET;
            InputProblem::NotAllowed {
                character,
                position,
                allowed,
            }
        };
        return refuse(field, problem);
    }
    Ok(text)
}

/// An agent id as `AgentId::parse` reads it, after the hostile-input checks.
pub fn agent_id(text: &str) -> Result<AgentId> {
    let text = identifier(InputField::AgentId, text, AGENT_ID_LEN_MAX_BYTES)?;
    AgentId::parse(text).ok_or(Error::InvalidInput {
        field: InputField::AgentId,
        problem: InputProblem::Malformed {
            expected: "agent_<digits>",
        },
    })
}

/// A work type: a short lowercase slug starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkType(String);

impl WorkType {
    /// Validates `text` as a work type.
    pub fn parse(text: &str) -> Result<Self> {
        let text = identifier(InputField::WorkType, text, WORK_TYPE_LEN_MAX_BYTES)?;
        if !text.starts_with(|c: char| c.is_ascii_lowercase()) {
            let expected = "a lowercase word starting with a letter";
            return refuse(InputField::WorkType, InputProblem::Malformed { expected });
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WorkType {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<WorkType> for String {
    fn from(value: WorkType) -> Self {
        value.0
    }
}

/// An environment name (`dev`, `staging`, `production`), after the hostile-input checks.
pub fn environment(text: &str) -> Result<Environment> {
    let text = identifier(InputField::Environment, text, ENVIRONMENT_LEN_MAX_BYTES)?;
    Environment::parse(text).map_err(|_| Error::InvalidInput {
        field: InputField::Environment,
        problem: InputProblem::Unknown {
            known: "dev, staging, production",
        },
    })
}

/// Free text describing a work item. Any text is kept exactly as given, except control
/// characters other than newline and tab, and text past `DESCRIPTION_LEN_MAX_BYTES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    /// Validates `text` as a description.
    pub fn parse(text: &str) -> Result<Self> {
        let field = InputField::Description;
        if text.len() > DESCRIPTION_LEN_MAX_BYTES {
            let (len_bytes, max_bytes) = (text.len(), DESCRIPTION_LEN_MAX_BYTES);
            return refuse(
                field,
                InputProblem::TooLong {
                    len_bytes,
                    max_bytes,
                },
            );
        }
        let control = text
            .char_indices()
            .find(|&(_, c)| is_control(c) && c != '\n' && c != '\t');
        if let Some((position, character)) = control {
            let code = u32::from(character);
            return refuse(field, InputProblem::ControlCharacter { code, position });
        }
        Ok(Self(text.to_owned()))
    }

    /// The text, exactly as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<Description> for String {
    fn from(value: Description) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_of<T: fmt::Debug>(result: Result<T>) -> (InputField, InputProblem) {
        match result {
            Err(Error::InvalidInput { field, problem }) => (field, problem),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    // Proves each hostile class in an agent id is refused with its own problem, naming the field.
    #[test]
    fn hostile_agent_ids_are_refused_by_class() {
        type IsExpected = fn(&InputProblem) -> bool;
        let cases: [(&str, IsExpected); 6] = [
            ("agent_1\"}", |p| matches!(p, InputProblem::Quote { .. })),
            ("agent_1;rm", |p| {
                matches!(p, InputProblem::ShellMetacharacter { .. })
            }),
            ("../agent_1", |p| matches!(p, InputProblem::PathTraversal)),
            ("agent_1\u{1b}", |p| {
                matches!(p, InputProblem::ControlCharacter { code: 0x1b, .. })
            }),
            ("", |p| matches!(p, InputProblem::Empty)),
            ("agent_x", |p| matches!(p, InputProblem::Malformed { .. })),
        ];
        for (input, expected) in cases {
            let (field, problem) = problem_of(agent_id(input));
            assert_eq!(field, InputField::AgentId);
            assert!(expected(&problem), "{input:?} gave {problem:?}");
        }
        let long = format!("agent_{}", "9".repeat(AGENT_ID_LEN_MAX_BYTES));
        let (_, problem) = problem_of(agent_id(&long));
        assert!(matches!(problem, InputProblem::TooLong { .. }));
    }

    // Proves valid values pass untouched and the error message never echoes the value.
    #[test]
    fn valid_values_pass_and_errors_do_not_echo() {
        assert_eq!(agent_id("agent_42").ok(), Some(AgentId(42)));
        assert_eq!(
            WorkType::parse("security-fix").ok().map(|w| w.0),
            Some("security-fix".into())
        );
        assert_eq!(environment("staging").ok(), Some(Environment::Staging));
        let message = environment("prod$(id)").err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("invalid environment: it contains the shell metacharacter '$' at byte 4")
        );
        let unknown = problem_of(environment("qa")).1;
        assert!(matches!(unknown, InputProblem::Unknown { .. }));
        let bidi = problem_of(Description::parse("ok \u{202E}gnp.exe")).1;
        assert!(matches!(
            bidi,
            InputProblem::ControlCharacter { code: 0x202E, .. }
        ));
    }

    // Proves descriptions keep quotes, shell text and traversal as data, and JSON reads them back.
    #[test]
    fn description_keeps_hostile_text_as_data() {
        let text = "say \"hi\"; rm -rf ../../ `id` $(whoami) \\ {\"a\":1}\n\tend ✓";
        let stored = Description::parse(text).map(|d| serde_json::to_string(&d));
        let json = match stored {
            Ok(Ok(json)) => json,
            other => panic!("not stored: {other:?}"),
        };
        let back: Description = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.as_str(), text);
        // Reading back re-validates: a stored control character does not slip in.
        assert!(serde_json::from_str::<Description>("\"a\\u0000b\"").is_err());
        let huge = "x".repeat(DESCRIPTION_LEN_MAX_BYTES + 1);
        assert!(Description::parse(&huge).is_err());
    }
}
