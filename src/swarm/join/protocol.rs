//! What a joining worker and the run's parent say to each other, as JSON over HTTP.
//!
//! Three calls besides the standard OTLP `POST /v1/traces`: a worker joins under a name
//! and is handed its share of the swarm; it beats while it lives (the answer says when to
//! start, or that the run was called off); it says when it is done. The plan carries the
//! seeds and the trace salt so that every process's spans join up into one history, and
//! the worker's seed is also what its OTLP resource carries, which is how the parent tells
//! whose spans arrived.

use serde::{Deserialize, Serialize};

/// `POST` a `JoinRequest` here: answered with a `WorkerPlan`.
pub const JOIN_PATH: &str = "/swarmspec/join";
/// `POST` a `Beat` here, at least every `BEAT_INTERVAL_MS`: answered with a `BeatAnswer`.
pub const BEAT_PATH: &str = "/swarmspec/beat";
/// `POST` a `Done` here once every span is exported.
pub const DONE_PATH: &str = "/swarmspec/done";
/// The header every call (OTLP exports included) carries when the run has a token.
pub const TOKEN_HEADER: &str = "x-swarmspec-token";
/// How often a worker beats.
pub const BEAT_INTERVAL_MS: u64 = 250;
/// A started worker silent this long is taken for dead (a kill -9, a lost host).
pub const SILENCE_MAX_MS: u64 = 3_000;
/// Bumped whenever a message changes shape: a worker of another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// A worker asking to join.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JoinRequest {
    /// The name it wants; `None`: the next expected name not yet taken.
    pub name: Option<String>,
    /// Its `PROTOCOL_VERSION`.
    pub protocol: u32,
    /// Its host name, for the report (not trusted for anything).
    pub host: String,
}

/// A worker's share of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerPlan {
    /// The name it joined under.
    pub name: String,
    /// Its position among the expected workers.
    pub index: usize,
    /// Agents it runs.
    pub agents: usize,
    /// Teams they are split into.
    pub teams: usize,
    /// Its seed (distinct per worker; also its OTLP resource's `swarmspec.seed`).
    pub seed: u64,
    /// What item trace ids derive from (the parent's, so an item keeps one trace).
    pub trace_salt: u64,
    /// The run's deadline, in seconds.
    pub deadline_s: u64,
    /// The lease of every claim, in ms.
    pub lease_ms: u64,
    /// The shared store as the parent opened it, without a password: `file:DIR`, or a
    /// `postgres://` URL naming the run's schema. A worker given its own `--store` (another
    /// host's path or address for the same state) keeps it, taking only the schema.
    pub store: String,
    /// The run's PostgreSQL schema, if the store is one.
    pub schema: Option<String>,
}

/// A worker's sign of life.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Beat {
    /// Its name.
    pub name: String,
}

/// What the parent answers a beat with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BeatAnswer {
    /// Every expected worker joined (or the wait for them ended): start working.
    pub start: bool,
    /// The run was called off: stop, with this reason.
    pub cancelled: Option<String>,
}

/// A worker's end.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Done {
    /// Its name.
    pub name: String,
    /// Whether its swarm ran to the end without an error.
    pub ok: bool,
    /// What went wrong, when it did not.
    pub problem: Option<String>,
    /// Spans it handed to its exporter.
    pub spans_ended: u64,
    /// Spans its collector (the parent) acknowledged.
    pub spans_sent: u64,
}
