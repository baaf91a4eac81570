//! The process protocol's lines (docs/process-protocol.md): requests as JSON text, and
//! responses decoded into the `Coordinator` trait's vocabulary.
//!
//! Decoding is strict: a response that is JSON but says something the trait cannot mean
//! (`"outcome":"claimd"`, a stage that is not a number) is a protocol error naming the field,
//! not a guess, because a verdict built on a misread answer would be wrong.

use serde_json::{json, Map, Value};

use crate::coordination::{
    ClaimOutcome, CompleteOutcome, HandoffOutcome, ItemStatus, ItemView, Ownership, Reaped, Role,
    TeamId, WorkSpec,
};
use crate::ids::{AgentId, WorkId};

/// The protocol version this side speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// Every call name, in the order the doc lists them.
pub const CALLS: [&str; 11] = [
    "register",
    "submit",
    "peek",
    "claim",
    "progress",
    "complete",
    "release",
    "handoff",
    "heartbeat",
    "reap",
    "unfinished",
];

/// Calls a child must support to be driven by a swarm at all.
pub const REQUIRED_CALLS: [&str; 6] = [
    "register", "submit", "peek", "claim", "progress", "complete",
];

/// One request, before it gets its id.
#[derive(Debug, Clone)]
pub enum Request {
    /// The handshake.
    Hello {
        /// Lease length the child reaps by.
        lease_ns: u64,
        /// Unix time that `now_ns` counts from.
        epoch_unix_ns: u64,
    },
    /// `register_agent`.
    Register(Role, TeamId, u64),
    /// `submit`.
    Submit(WorkSpec, u64),
    /// `peek`.
    Peek(WorkId),
    /// `claim`.
    Claim(AgentId, WorkId, u64),
    /// `progress`.
    Progress(AgentId, WorkId, u8, u64),
    /// `complete`.
    Complete(AgentId, WorkId, u64),
    /// `release`.
    Release(AgentId, WorkId, u64),
    /// `handoff`.
    Handoff(AgentId, WorkId, u64),
    /// `heartbeat`.
    Heartbeat(AgentId, u64),
    /// `reap_expired`.
    Reap(u64),
    /// `unfinished_items`.
    Unfinished,
}

impl Request {
    /// The `type` field.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Register(..) => "register",
            Request::Submit(..) => "submit",
            Request::Peek(..) => "peek",
            Request::Claim(..) => "claim",
            Request::Progress(..) => "progress",
            Request::Complete(..) => "complete",
            Request::Release(..) => "release",
            Request::Handoff(..) => "handoff",
            Request::Heartbeat(..) => "heartbeat",
            Request::Reap(..) => "reap",
            Request::Unfinished => "unfinished",
        }
    }

    /// The request as one line of JSON (without the newline).
    pub fn to_line(&self, id: u64) -> String {
        let ty = self.name();
        let value = match self {
            Request::Hello {
                lease_ns,
                epoch_unix_ns,
            } => json!({"id": id, "type": ty, "protocol": PROTOCOL_VERSION,
                        "lease_ns": lease_ns, "epoch_unix_ns": epoch_unix_ns}),
            Request::Register(role, team, now) => {
                json!({"id": id, "type": ty, "role": role.as_str(), "team": team.0, "now_ns": now})
            }
            Request::Submit(spec, now) => {
                let pipeline: Vec<&str> = spec.pipeline.iter().map(|r| r.as_str()).collect();
                json!({"id": id, "type": ty, "work_type": spec.work_type, "team": spec.team.0,
                       "pipeline": pipeline, "now_ns": now})
            }
            Request::Peek(item) => json!({"id": id, "type": ty, "item": item.0}),
            Request::Claim(agent, item, now)
            | Request::Complete(agent, item, now)
            | Request::Release(agent, item, now)
            | Request::Handoff(agent, item, now) => {
                json!({"id": id, "type": ty, "agent": agent.0, "item": item.0, "now_ns": now})
            }
            Request::Progress(agent, item, percent, now) => json!({"id": id, "type": ty,
                "agent": agent.0, "item": item.0, "percent": percent, "now_ns": now}),
            Request::Heartbeat(agent, now) => {
                json!({"id": id, "type": ty, "agent": agent.0, "now_ns": now})
            }
            Request::Reap(now) => json!({"id": id, "type": ty, "now_ns": now}),
            Request::Unfinished => json!({"id": id, "type": ty}),
        };
        value.to_string()
    }
}

/// What a child said about one request: its fields, or its error.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A success response's fields.
    Fields(Map<String, Value>),
    /// `{"error": {...}}`.
    Error {
        /// The child's `kind`.
        kind: String,
        /// Whether the child says it certainly did not apply.
        definite: bool,
        /// The child's `text`.
        text: String,
    },
}

/// A response line split into the id it answers and what it says; `Err` says why the line
/// is not a response.
pub fn parse_response(line: &str) -> Result<(u64, Reply), String> {
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not JSON ({error})"))?;
    let Value::Object(mut fields) = value else {
        return Err("not a JSON object".into());
    };
    let id = fields
        .remove("in_reply_to")
        .and_then(|id| id.as_u64())
        .ok_or("no unsigned integer `in_reply_to`")?;
    let reply = match fields.remove("error") {
        Some(Value::Object(error)) => Reply::Error {
            kind: text_of(&error, "kind").unwrap_or("unspecified").to_owned(),
            definite: error
                .get("definite")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            text: text_of(&error, "text").unwrap_or("").to_owned(),
        },
        Some(Value::String(text)) => Reply::Error {
            kind: "unspecified".into(),
            definite: false,
            text,
        },
        Some(other) => return Err(format!("`error` is {other}, not an object")),
        None => Reply::Fields(fields),
    };
    Ok((id, reply))
}

fn text_of<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Value::as_str)
}

/// Reads one field of a success response, saying which field is wrong when it is.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, key: &str) -> Result<&Value, String> {
        self.0.get(key).ok_or_else(|| format!("no `{key}` field"))
    }

    /// An unsigned integer field.
    pub fn number(&self, key: &str) -> Result<u64, String> {
        self.get(key)?
            .as_u64()
            .ok_or_else(|| format!("`{key}` is not an unsigned integer"))
    }

    /// A text field.
    pub fn text(&self, key: &str) -> Result<&str, String> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| format!("`{key}` is not a string"))
    }

    /// A role field.
    pub fn role(&self, key: &str) -> Result<Role, String> {
        let text = self.text(key)?;
        Role::parse(text).ok_or_else(|| format!("`{key}` is «{text}», not a role"))
    }

    /// An agent field that may be `null`.
    pub fn maybe_agent(&self, key: &str) -> Result<Option<AgentId>, String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .map(|id| Some(AgentId(id)))
                .ok_or_else(|| format!("`{key}` is neither an agent number nor null")),
        }
    }

    /// A role field that may be `null`.
    pub fn maybe_role(&self, key: &str) -> Result<Option<Role>, String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.role(key).map(Some),
        }
    }

    /// A stage index.
    pub fn stage(&self, key: &str) -> Result<usize, String> {
        usize::try_from(self.number(key)?).map_err(|_| format!("`{key}` is too large"))
    }

    fn outcome(&self) -> Result<&str, String> {
        self.text("outcome")
    }

    fn unexpected(&self, allowed: &str) -> String {
        format!(
            "`outcome` is «{}», expected {allowed}",
            self.outcome().unwrap_or("?")
        )
    }

    /// A claim's outcome.
    pub fn claim(&self) -> Result<ClaimOutcome, String> {
        match self.outcome()? {
            "claimed" => Ok(ClaimOutcome::Claimed {
                stage: self.stage("stage")?,
            }),
            "conflict" => Ok(ClaimOutcome::Conflict {
                holder: self.maybe_agent("holder")?,
            }),
            "wrong_role" => Ok(ClaimOutcome::WrongRole {
                needed: self.role("needed")?,
            }),
            _ => Err(self.unexpected("claimed, conflict or wrong_role")),
        }
    }

    /// The outcome of progress or release.
    pub fn ownership(&self) -> Result<Ownership, String> {
        match self.outcome()? {
            "ok" => Ok(Ownership::Held),
            "lease_lost" => Ok(Ownership::LeaseLost),
            _ => Err(self.unexpected("ok or lease_lost")),
        }
    }

    /// A completion's outcome.
    pub fn complete(&self) -> Result<CompleteOutcome, String> {
        match self.outcome()? {
            "completed" => Ok(CompleteOutcome::Completed {
                stage: self.stage("stage")?,
                next: self.maybe_role("next")?,
            }),
            "lease_lost" => Ok(CompleteOutcome::LeaseLost),
            _ => Err(self.unexpected("completed or lease_lost")),
        }
    }

    /// A handoff's outcome.
    pub fn handoff(&self) -> Result<HandoffOutcome, String> {
        match self.outcome()? {
            "handed_off" => Ok(HandoffOutcome::HandedOff {
                stage: self.stage("stage")?,
                role: self.role("role")?,
            }),
            "refused" => Ok(HandoffOutcome::Refused),
            _ => Err(self.unexpected("handed_off or refused")),
        }
    }

    /// A peek's view.
    pub fn view(&self) -> Result<ItemView, String> {
        let status = match self.text("status")? {
            "open" => ItemStatus::Open,
            "claimed" => ItemStatus::Claimed,
            "stage_done" => ItemStatus::StageDone,
            "done" => ItemStatus::Done,
            other => {
                return Err(format!(
                    "`status` is «{other}», expected open, claimed, stage_done or done"
                ))
            }
        };
        let team = u32::try_from(self.number("team")?).map_err(|_| "`team` is too large")?;
        Ok(ItemView {
            status,
            stage: self.stage("stage")?,
            role: self.role("role")?,
            team: TeamId(team),
            holder: self.maybe_agent("holder")?,
        })
    }

    /// A reap's list.
    pub fn reaped(&self) -> Result<Vec<Reaped>, String> {
        let list = self
            .get("reaped")?
            .as_array()
            .ok_or("`reaped` is not a list")?;
        list.iter()
            .map(|entry| {
                let fields = entry
                    .as_object()
                    .ok_or("a `reaped` entry is not an object")?;
                let fields = Fields(fields);
                Ok(Reaped {
                    item: WorkId(fields.number("item")?),
                    previous_holder: AgentId(fields.number("previous_holder")?),
                    stage: fields.stage("stage")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a request line carries the doc's field names and a response round-trips into
    // the trait's vocabulary, with an unknown outcome refused by name.
    #[test]
    fn lines_match_the_documented_shapes() {
        let line = Request::Claim(AgentId(3), WorkId(9), 42).to_line(7);
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["type"], "claim");
        assert_eq!(value["agent"], 3);
        assert_eq!(value["item"], 9);
        assert_eq!(value["now_ns"], 42);
        let (id, reply) =
            parse_response(r#"{"in_reply_to":7,"outcome":"conflict","holder":2}"#).expect("ok");
        assert_eq!(id, 7);
        let Reply::Fields(fields) = reply else {
            panic!("fields")
        };
        assert_eq!(
            Fields(&fields).claim(),
            Ok(ClaimOutcome::Conflict {
                holder: Some(AgentId(2))
            })
        );
        let (_, reply) = parse_response(r#"{"in_reply_to":1,"outcome":"claimd"}"#).expect("ok");
        let Reply::Fields(fields) = reply else {
            panic!("fields")
        };
        assert!(Fields(&fields).claim().unwrap_err().contains("claimd"));
    }

    // Proves errors keep the child's definiteness, and garbage is refused with a reason.
    #[test]
    fn errors_and_garbage() {
        let (_, reply) = parse_response(
            r#"{"in_reply_to":2,"error":{"kind":"unknown_item","definite":true,"text":"no"}}"#,
        )
        .expect("ok");
        assert!(matches!(reply, Reply::Error { definite: true, .. }));
        assert!(parse_response("hello there")
            .unwrap_err()
            .contains("not JSON"));
        assert!(parse_response("[1]").unwrap_err().contains("object"));
        assert!(parse_response(r#"{"outcome":"ok"}"#)
            .unwrap_err()
            .contains("in_reply_to"));
    }
}
