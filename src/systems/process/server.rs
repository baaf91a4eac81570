//! The protocol's other side: serves a `Coordinator` (swarmspec's reference engine) to a
//! parent over stdin/stdout (`swarmspec serve-process`). It is the protocol's cost baseline
//! in `swarmspec bench` and a second, independent reading of docs/process-protocol.md that
//! the client is tested against.
//!
//! One request at a time, in order; answers are buffered and flushed whenever no further
//! request is already waiting, so a pipelining parent gets many answers per write.

use std::io::{BufRead, BufReader, Read, Write};

use serde_json::{json, Map, Value};

use super::wire::{CALLS, PROTOCOL_VERSION};
use crate::coordination::{
    ClaimOutcome, CompleteOutcome, Coordinator, HandoffOutcome, ItemStatus, Ownership, Role,
    TeamId, WorkSpec,
};
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};

/// Builds the coordinator to serve from the hello's `lease_ns`.
pub type Factory = dyn FnOnce(u64) -> Box<dyn Coordinator>;

/// Serves requests from `input` until it closes.
pub fn serve(
    factory: Box<Factory>,
    mut input: BufReader<impl Read>,
    mut output: impl Write,
) -> Result<()> {
    let io = |error: std::io::Error| Error::Runtime(error);
    let mut line = String::new();
    let mut factory = Some(factory);
    let mut engine: Option<Box<dyn Coordinator>> = None;
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(io)? == 0 {
            output.flush().map_err(io)?;
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(request)) => request
                .get("id")
                .and_then(Value::as_u64)
                .map(|id| answer(id, &request, &mut engine, &mut factory)),
            _ => None,
        };
        match answer {
            Some(answer) => {
                serde_json::to_writer(&mut output, &answer)
                    .map_err(|error| Error::Runtime(error.into()))?;
                output.write_all(b"\n").map_err(io)?;
            }
            None => eprintln!("serve-process: skipped a line with no request id"),
        }
        // Only what is already buffered: asking for more would block with answers unsent.
        if input.buffer().is_empty() {
            output.flush().map_err(io)?;
        }
    }
}

fn answer(
    id: u64,
    request: &Map<String, Value>,
    engine: &mut Option<Box<dyn Coordinator>>,
    factory: &mut Option<Box<Factory>>,
) -> Value {
    let ty = request.get("type").and_then(Value::as_str).unwrap_or("");
    if ty == "hello" {
        let lease_ns = request
            .get("lease_ns")
            .and_then(Value::as_u64)
            .unwrap_or(30_000_000_000);
        if let Some(factory) = factory.take() {
            *engine = Some(factory(lease_ns));
        }
        // The reference engine cannot count unfinished items in one read.
        let supports: Vec<&str> = CALLS.into_iter().filter(|c| *c != "unfinished").collect();
        return json!({"in_reply_to": id, "type": "hello_ok", "protocol": PROTOCOL_VERSION,
                      "name": "swarmspec-reference", "supports": supports, "virtual_time": true});
    }
    let Some(engine) = engine.as_deref() else {
        return error(id, "invalid", "the first request must be hello");
    };
    let mut fields = match dispatch(engine, ty, request) {
        Ok(fields) => fields,
        Err(Refusal(kind, text)) => return error(id, kind, &text),
    };
    fields.insert("in_reply_to".into(), id.into());
    Value::Object(fields)
}

struct Refusal(&'static str, String);

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::UnknownAgent(_) => "unknown_agent",
            Error::UnknownWorkItem(_) => "unknown_item",
            Error::InvalidConfig(_) => "invalid",
            _ => "unavailable",
        };
        Refusal(kind, error.to_string())
    }
}

fn error(id: u64, kind: &str, text: &str) -> Value {
    json!({"in_reply_to": id, "error": {"kind": kind, "definite": true, "text": text}})
}

fn number(request: &Map<String, Value>, key: &str) -> std::result::Result<u64, Refusal> {
    request
        .get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| Refusal("invalid", format!("`{key}` must be an unsigned integer")))
}

fn role(value: Option<&Value>) -> std::result::Result<Role, Refusal> {
    value
        .and_then(Value::as_str)
        .and_then(Role::parse)
        .ok_or_else(|| Refusal("invalid", "not a role".into()))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn dispatch(
    engine: &dyn Coordinator,
    ty: &str,
    request: &Map<String, Value>,
) -> std::result::Result<Map<String, Value>, Refusal> {
    let now = || number(request, "now_ns");
    let agent = || number(request, "agent").map(AgentId);
    let item = || number(request, "item").map(WorkId);
    let team = || {
        let team = number(request, "team")?;
        u32::try_from(team)
            .map(TeamId)
            .map_err(|_| Refusal("invalid", "`team` is too large".into()))
    };
    let ownership = |outcome: Ownership| match outcome {
        Ownership::Held => json!({"outcome": "ok"}),
        Ownership::LeaseLost => json!({"outcome": "lease_lost"}),
    };
    let value = match ty {
        "register" => {
            let id = engine.register_agent(role(request.get("role"))?, team()?, now()?)?;
            json!({"agent": id.0})
        }
        "submit" => {
            let pipeline = request
                .get("pipeline")
                .and_then(Value::as_array)
                .ok_or_else(|| Refusal("invalid", "`pipeline` must be a list".into()))?
                .iter()
                .map(|value| role(Some(value)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let work_type = request.get("work_type").and_then(Value::as_str);
            let spec = WorkSpec {
                work_type: work_type.unwrap_or("feature").to_owned(),
                team: team()?,
                pipeline: pipeline.into(),
            };
            json!({"item": engine.submit(spec, now()?)?.0})
        }
        "peek" => {
            let view = engine.peek(item()?)?;
            let status = match view.status {
                ItemStatus::Open => "open",
                ItemStatus::Claimed => "claimed",
                ItemStatus::StageDone => "stage_done",
                ItemStatus::Done => "done",
            };
            json!({"status": status, "stage": view.stage, "role": view.role.as_str(),
                   "team": view.team.0, "holder": view.holder.map(|a| a.0)})
        }
        "claim" => match engine.claim(agent()?, item()?, now()?)? {
            ClaimOutcome::Claimed { stage } => json!({"outcome": "claimed", "stage": stage}),
            ClaimOutcome::Conflict { holder } => {
                json!({"outcome": "conflict", "holder": holder.map(|a| a.0)})
            }
            ClaimOutcome::WrongRole { needed } => {
                json!({"outcome": "wrong_role", "needed": needed.as_str()})
            }
        },
        "progress" => {
            let percent = u8::try_from(number(request, "percent")?)
                .ok()
                .filter(|&p| p <= 100)
                .ok_or_else(|| Refusal("invalid", "`percent` must be 0 to 100".into()))?;
            ownership(engine.progress(agent()?, item()?, percent, now()?)?)
        }
        "complete" => match engine.complete(agent()?, item()?, now()?)? {
            CompleteOutcome::Completed { stage, next } => json!({"outcome": "completed",
                "stage": stage, "next": next.map(Role::as_str)}),
            CompleteOutcome::LeaseLost => json!({"outcome": "lease_lost"}),
        },
        "release" => ownership(engine.release(agent()?, item()?, now()?)?),
        "handoff" => match engine.handoff(agent()?, item()?, now()?)? {
            HandoffOutcome::HandedOff { stage, role } => {
                json!({"outcome": "handed_off", "stage": stage, "role": role.as_str()})
            }
            HandoffOutcome::Refused => json!({"outcome": "refused"}),
        },
        "heartbeat" => {
            engine.heartbeat(agent()?, now()?)?;
            json!({"outcome": "ok"})
        }
        "reap" => {
            let reaped: Vec<Value> = engine
                .reap_expired(now()?)?
                .into_iter()
                .map(|r| {
                    json!({"item": r.item.0, "previous_holder": r.previous_holder.0,
                                "stage": r.stage})
                })
                .collect();
            json!({ "reaped": reaped })
        }
        "unfinished" => {
            let count = engine.unfinished_items()?.ok_or_else(|| {
                Refusal(
                    "unsupported",
                    "this engine cannot count unfinished items".into(),
                )
            })?;
            json!({ "count": count })
        }
        other => return Err(Refusal("unsupported", format!("no call «{other}»"))),
    };
    Ok(object(value))
}
