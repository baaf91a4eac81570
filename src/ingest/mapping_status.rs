//! Status values of another tool read as swarmspec's (`ok`, `error`, `unset`): while the
//! file is read, since the reader refuses a span whose status it cannot read; and in the
//! fragments it skipped, so the error check can say how many failures it could not judge.

use serde_json::{Map, Value};

use super::mapping::{How, Mapped, Mapping, StatusClass, Tally};

/// Common words other tools write for a status, guessed when no mapping entry says.
const COMMON_STATUS: &[(&str, StatusClass)] = &[
    ("success", StatusClass::Ok),
    ("succeeded", StatusClass::Ok),
    ("successful", StatusClass::Ok),
    ("passed", StatusClass::Ok),
    ("done", StatusClass::Ok),
    ("completed", StatusClass::Ok),
    ("status_code_ok", StatusClass::Ok),
    ("failed", StatusClass::Error),
    ("failure", StatusClass::Error),
    ("fail", StatusClass::Error),
    ("err", StatusClass::Error),
    ("errored", StatusClass::Error),
    ("status_code_error", StatusClass::Error),
    ("status_code_unset", StatusClass::Unset),
    ("unknown", StatusClass::Unset),
    ("none", StatusClass::Unset),
];

/// A status text the span-log reader takes as it is.
fn native_status(value: &Value) -> Option<StatusClass> {
    match value.as_str()?.trim().to_ascii_lowercase().as_str() {
        "ok" => Some(StatusClass::Ok),
        "error" => Some(StatusClass::Error),
        "unset" | "" => Some(StatusClass::Unset),
        _ => None,
    }
}

impl Mapping {
    /// What a status value means, when a mapping entry or a guess says (a text the reader
    /// takes as it is, `ok`/`error`/`unset`, needs neither and gives `None`).
    pub fn status_of(&self, status: &Value) -> Option<(StatusClass, String, How)> {
        match status {
            Value::String(text) => {
                let lower = text.trim().to_ascii_lowercase();
                if let Some(class) = self.status.get(&lower) {
                    return Some((*class, format!("«{text}»"), How::MappingFile));
                }
                if !self.guess || native_status(status).is_some() {
                    return None;
                }
                COMMON_STATUS
                    .iter()
                    .find(|(word, _)| *word == lower)
                    .map(|(_, class)| (*class, format!("«{text}»"), How::CommonStatus))
            }
            Value::Number(number) => {
                // A code is looked up in the mapping file by its digits (`"2" = "error"`).
                if let Some(class) = self.status.get(&number.to_string()) {
                    return Some((*class, number.to_string(), How::MappingFile));
                }
                if !self.guess {
                    return None;
                }
                let class = match number.as_u64()? {
                    0 => StatusClass::Unset,
                    1 => StatusClass::Ok,
                    2 => StatusClass::Error,
                    _ => return None,
                };
                Some((class, number.to_string(), How::OtlpCode))
            }
            Value::Object(object) => {
                // `{"code": …, "message": …}`: the code read as a status of its own, where
                // `ok`/`error`/`unset` (native to a span log's text) need a guess here.
                let code = object.get("code")?;
                let (class, how) = match (self.status_of(code), native_status(code)) {
                    (Some((class, _, how)), _) => (class, how),
                    (None, Some(class)) if self.guess => (class, How::CommonStatus),
                    _ => return None,
                };
                Some((class, format!("{{code: {code}}}"), how))
            }
            _ => None,
        }
    }

    /// Rewrites a span-log object's `status` to the text the reader takes, when a mapping
    /// entry or a guess says what it means; a status object's message is kept.
    pub fn normalise_status(&self, object: &mut Map<String, Value>, tally: &mut Tally) {
        let Some(status) = object.get("status") else {
            return;
        };
        let Some((class, from, how)) = self.status_of(status) else {
            return;
        };
        let message = status
            .get("message")
            .or_else(|| status.get("description"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        tally.note(Mapped::Status, &from, class.text(), how);
        object.insert("status".into(), Value::String(class.text().into()));
        if let Some(message) = message {
            object
                .entry("status_message")
                .or_insert(Value::String(message));
        }
    }

    /// Whether a fragment the reader skipped says it failed: a `status` (at any depth, so an
    /// OTLP document or a wrapper object counts) that is `error`, an OTLP error code, or a
    /// status this mapping reads as error. Depth is bounded: the input is untrusted.
    pub fn carries_error_status(&self, value: &Value) -> bool {
        self.error_status_within(value, 0)
    }

    fn error_status_within(&self, value: &Value, depth: usize) -> bool {
        const DEPTH_MAX: usize = 16;
        if depth > DEPTH_MAX {
            return false;
        }
        match value {
            Value::Object(object) => {
                object.get("status").is_some_and(|s| self.is_error(s))
                    || object
                        .values()
                        .any(|v| self.error_status_within(v, depth + 1))
            }
            Value::Array(items) => items.iter().any(|v| self.error_status_within(v, depth + 1)),
            _ => false,
        }
    }

    fn is_error(&self, status: &Value) -> bool {
        if let Some((class, _, _)) = self.status_of(status) {
            return class == StatusClass::Error;
        }
        match status {
            Value::String(_) => native_status(status) == Some(StatusClass::Error),
            // OTLP's own status object, whether or not guessing is on: the reader reads it.
            Value::Object(object) => matches!(
                object.get("code"),
                Some(code) if code.as_u64() == Some(2) || code.as_str() == Some("STATUS_CODE_ERROR")
            ),
            _ => false,
        }
    }
}
