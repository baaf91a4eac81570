//! `JoinBoard`: the parent's record of a joined run — who was expected, who joined, who is
//! alive, who is done — and the spans that arrived, each credited to the worker whose seed
//! its OTLP resource carries. No HTTP here: the server only feeds it, so its rules are
//! tested directly.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::protocol::{
    BeatAnswer, Done, JoinRequest, WorkerPlan, PROTOCOL_VERSION, SILENCE_MAX_MS,
};
use crate::swarm::processes::worker_seed;
use crate::telemetry::otlp::decode::{attribute, record, Refusal};
use crate::telemetry::otlp::resource::SEED_KEY;
use crate::telemetry::{AttrValue, SpanRecord};

/// What every worker's plan shares; `JoinBoard` fills in the name, index, agents and seed.
#[derive(Debug, Clone)]
pub struct RunShape {
    /// Agents of the whole run, split evenly over the expected workers.
    pub agents: usize,
    /// Teams each worker staffs.
    pub teams: usize,
    /// The run's seed (each worker's derives from it).
    pub seed: u64,
    /// The item trace salt.
    pub trace_salt: u64,
    /// The deadline, in seconds.
    pub deadline_s: u64,
    /// The lease, in ms.
    pub lease_ms: u64,
    /// The store, password-free (see `WorkerPlan::store`).
    pub store: String,
    /// The PostgreSQL schema, if any.
    pub schema: Option<String>,
}

/// One expected worker that joined.
#[derive(Debug, Clone)]
struct Member {
    host: String,
    last_heard: Instant,
    done: Option<Done>,
    spans_received: u64,
}

/// Where an expected worker stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Never asked to join.
    NeverJoined,
    /// Joined and heard from lately.
    Running,
    /// Said it is done (its report inside).
    Done(Done),
    /// Joined, then silent past `SILENCE_MAX_MS` without saying it is done.
    Silent(Duration),
}

/// One expected worker as the run ends.
#[derive(Debug, Clone)]
pub struct WorkerSummary {
    /// Its name.
    pub name: String,
    /// The host it said it runs on (empty if it never joined).
    pub host: String,
    /// Its agents.
    pub agents: usize,
    /// Its seed.
    pub seed: u64,
    /// How it ended.
    pub state: WorkerState,
    /// Spans that arrived over OTLP credited to it.
    pub spans_received: u64,
}

/// The parent's view of a joined run.
#[derive(Debug)]
pub struct JoinBoard {
    shape: RunShape,
    expected: Vec<String>,
    members: Vec<Option<Member>>,
    started: bool,
    cancelled: Option<String>,
    spans: Vec<SpanRecord>,
    problems: Vec<String>,
}

fn refused(problem: String) -> Refusal {
    ("409 Conflict", problem)
}

impl JoinBoard {
    /// A board waiting for `expected` workers (names, in plan order; at least one).
    pub fn new(shape: RunShape, expected: Vec<String>) -> Self {
        let members = vec![None; expected.len()];
        Self {
            shape,
            expected,
            members,
            started: false,
            cancelled: None,
            spans: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn agents_of(&self, index: usize) -> usize {
        let count = self.expected.len().max(1);
        self.shape.agents / count + usize::from(index < self.shape.agents % count)
    }

    fn seed_of(&self, index: usize) -> u64 {
        worker_seed(self.shape.seed, index)
    }

    /// Admits a worker: under the name it asks for if that is expected and free, else under
    /// the next free one. Refused once the run has started or been called off.
    pub fn join(&mut self, request: &JoinRequest, now: Instant) -> Result<WorkerPlan, Refusal> {
        if request.protocol != PROTOCOL_VERSION {
            return Err(refused(format!(
                "the worker speaks protocol {}, this run {PROTOCOL_VERSION}: run the same \
                 swarmspec version on every host",
                request.protocol
            )));
        }
        if let Some(reason) = &self.cancelled {
            return Err(refused(format!("the run was called off: {reason}")));
        }
        if self.started {
            return Err(refused(
                "the run has started: every worker it waits for has joined".into(),
            ));
        }
        let index = match &request.name {
            Some(name) => {
                let Some(index) = self.expected.iter().position(|n| n == name) else {
                    return Err(refused(format!(
                        "no worker named «{name}» is expected (expected: {})",
                        self.expected.join(", ")
                    )));
                };
                if self.members[index].is_some() {
                    return Err(refused(format!(
                        "a worker named «{name}» has already joined"
                    )));
                }
                index
            }
            None => self
                .members
                .iter()
                .position(Option::is_none)
                .ok_or_else(|| refused("every expected worker has already joined".into()))?,
        };
        self.members[index] = Some(Member {
            host: request.host.chars().take(200).collect(),
            last_heard: now,
            done: None,
            spans_received: 0,
        });
        let shape = &self.shape;
        Ok(WorkerPlan {
            name: self.expected[index].clone(),
            index,
            agents: self.agents_of(index),
            teams: shape.teams,
            seed: self.seed_of(index),
            trace_salt: shape.trace_salt,
            deadline_s: shape.deadline_s,
            lease_ms: shape.lease_ms,
            store: shape.store.clone(),
            schema: shape.schema.clone(),
        })
    }

    fn member(&mut self, name: &str) -> Result<&mut Member, Refusal> {
        let index = self.expected.iter().position(|n| n == name);
        index
            .and_then(|i| self.members[i].as_mut())
            .ok_or_else(|| ("404 Not Found", format!("no worker «{name}» has joined")))
    }

    /// Notes a worker's sign of life and tells it whether to start.
    pub fn beat(&mut self, name: &str, now: Instant) -> Result<BeatAnswer, Refusal> {
        self.member(name)?.last_heard = now;
        Ok(BeatAnswer {
            start: self.started,
            cancelled: self.cancelled.clone(),
        })
    }

    /// Notes a worker's end.
    pub fn done(&mut self, done: Done, now: Instant) -> Result<(), Refusal> {
        let member = self.member(&done.name)?;
        member.last_heard = now;
        member.done = Some(done);
        Ok(())
    }

    /// Keeps the spans of an export, crediting each resource's spans to the worker whose
    /// seed it carries. A resource of no expected worker (a stray process, an earlier run's
    /// worker) is refused whole: its spans are not this run's evidence.
    pub fn absorb(&mut self, request: ExportTraceServiceRequest) -> Result<usize, Refusal> {
        let mut credited = Vec::new();
        for resource_spans in &request.resource_spans {
            let seed = resource_spans.resource.as_ref().and_then(|resource| {
                resource
                    .attributes
                    .iter()
                    .map(attribute)
                    .find_map(|(key, value)| match value {
                        AttrValue::Int(seed) if &*key == SEED_KEY => Some(seed as u64),
                        _ => None,
                    })
            });
            let index = seed.and_then(|seed| {
                (0..self.expected.len())
                    .find(|&i| self.seed_of(i) == seed && self.members[i].is_some())
            });
            let Some(index) = index else {
                let problem = format!(
                    "spans from a resource whose {SEED_KEY} ({}) is no joined worker's",
                    seed.map_or_else(|| "absent".to_owned(), |s| s.to_string())
                );
                self.problems.push(problem.clone());
                return Err(("403 Forbidden", problem));
            };
            credited.push(index);
        }
        let mut count = 0;
        for (resource_spans, index) in request.resource_spans.into_iter().zip(credited) {
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    self.spans.push(record(span));
                    count += 1;
                    if let Some(member) = self.members[index].as_mut() {
                        member.spans_received += 1;
                    }
                }
            }
        }
        Ok(count)
    }

    /// Counts a request refused before it reached the board (bad framing, a wrong token).
    pub fn refused(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Lets the joined workers start.
    pub fn start(&mut self) {
        self.started = true;
    }

    /// Calls the run off: workers are told at their next beat.
    pub fn cancel(&mut self, reason: String) {
        self.cancelled = Some(reason);
    }

    /// How many expected workers have joined.
    pub fn joined(&self) -> usize {
        self.members.iter().filter(|m| m.is_some()).count()
    }

    /// How many are expected.
    pub fn expected(&self) -> usize {
        self.expected.len()
    }

    fn state_of(&self, member: Option<&Member>, now: Instant) -> WorkerState {
        match member {
            None => WorkerState::NeverJoined,
            Some(Member {
                done: Some(done), ..
            }) => WorkerState::Done(done.clone()),
            Some(member) => {
                let silent = now.saturating_duration_since(member.last_heard);
                if silent >= Duration::from_millis(SILENCE_MAX_MS) {
                    WorkerState::Silent(silent)
                } else {
                    WorkerState::Running
                }
            }
        }
    }

    /// Every joined worker is done or silent: nothing more will arrive.
    pub fn settled(&self, now: Instant) -> bool {
        self.members
            .iter()
            .flatten()
            .all(|member| !matches!(self.state_of(Some(member), now), WorkerState::Running))
    }

    /// Items the store shows done are counted elsewhere; this is each worker's end.
    pub fn summaries(&self, now: Instant) -> Vec<WorkerSummary> {
        (0..self.expected.len())
            .map(|index| {
                let member = self.members[index].as_ref();
                WorkerSummary {
                    name: self.expected[index].clone(),
                    host: member.map(|m| m.host.clone()).unwrap_or_default(),
                    agents: self.agents_of(index),
                    seed: self.seed_of(index),
                    state: self.state_of(member, now),
                    spans_received: member.map_or(0, |m| m.spans_received),
                }
            })
            .collect()
    }

    /// The spans received, taken (the board keeps none after).
    pub fn take_spans(&mut self) -> Vec<SpanRecord> {
        std::mem::take(&mut self.spans)
    }

    /// Requests refused, each with its reason.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;
