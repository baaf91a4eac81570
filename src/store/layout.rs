//! The three JSON files of a Scrum-at-Scale coordination directory, as serde types.
//!
//! Field names are the ones such tools (and the `jq` one-liners written for them) use.
//! Fields swarmspec needs beyond them (`stage`, `pipeline`, `role`, `last_heartbeat_ns`)
//! are extra keys with defaults, so files written by another tool still read.

use serde::{Deserialize, Serialize};

/// `work_claims.json`: every work item, claimed or not.
pub const WORK_CLAIMS_FILE: &str = "work_claims.json";
/// `agent_status.json`: every registered agent.
pub const AGENT_STATUS_FILE: &str = "agent_status.json";
/// `coordination_log.json`: one entry per completed stage.
pub const COORDINATION_LOG_FILE: &str = "coordination_log.json";

/// Status of an item nobody holds at its current stage.
pub const STATUS_PENDING: &str = "pending";
/// Status of a claimed item with no progress reported yet.
pub const STATUS_ACTIVE: &str = "active";
/// Status of a claimed item with progress reported.
pub const STATUS_IN_PROGRESS: &str = "in_progress";
/// Status of an item whose current stage is done, waiting for a handoff.
pub const STATUS_STAGE_DONE: &str = "stage_done";
/// Status of an item whose last stage is done.
pub const STATUS_COMPLETED: &str = "completed";

/// The trace context of the operation that last changed an item, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Telemetry {
    /// 32 hex digits, or empty.
    #[serde(default)]
    pub trace_id: String,
    /// 16 hex digits, or empty.
    #[serde(default)]
    pub span_id: String,
}

/// One entry of `work_claims.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkClaim {
    /// The item's id.
    pub work_item_id: String,
    /// Who holds it at its current stage; `null` when nobody does.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// When the current holder claimed it (RFC 3339); `null` when nobody holds it.
    #[serde(default)]
    pub claimed_at: Option<String>,
    /// Kind of work (`feature`, `bug`, …).
    #[serde(default)]
    pub work_type: String,
    /// `low`, `medium`, `high`, `critical`.
    #[serde(default)]
    pub priority: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// One of the `STATUS_*` values (other tools may write others).
    pub status: String,
    /// The team whose agents may claim it.
    #[serde(default)]
    pub team: String,
    /// Percent done of the current stage.
    #[serde(default)]
    pub progress: u8,
    /// Trace context of the last change.
    #[serde(default)]
    pub telemetry: Telemetry,
    /// Index of the current stage in `pipeline`.
    #[serde(default)]
    pub stage: usize,
    /// Roles the item passes through, in order.
    #[serde(default)]
    pub pipeline: Vec<String>,
}

/// One entry of `agent_status.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// The agent's id.
    pub agent_id: String,
    /// Its team.
    #[serde(default)]
    pub team: String,
    /// `active` while registered.
    #[serde(default)]
    pub status: String,
    /// How many items it may hold at once.
    #[serde(default)]
    pub capacity: u32,
    /// How many it holds now.
    #[serde(default)]
    pub current_workload: u32,
    /// Its last sign of life (RFC 3339).
    #[serde(default)]
    pub last_heartbeat: String,
    /// Its role (`developer`, …).
    #[serde(default)]
    pub role: String,
    /// Its last sign of life, ns since the Unix epoch (what leases compare).
    #[serde(default)]
    pub last_heartbeat_ns: u64,
}

/// One entry of `coordination_log.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The item.
    pub work_item_id: String,
    /// When the stage was completed (RFC 3339).
    #[serde(default)]
    pub completed_at: String,
    /// Who completed it.
    #[serde(default)]
    pub agent_id: String,
    /// `completed` for an item's last stage, `stage_done` for the others.
    #[serde(default)]
    pub result: String,
    /// Story points credited to the team's velocity.
    #[serde(default)]
    pub velocity_points: u32,
    /// The stage completed.
    #[serde(default)]
    pub stage: usize,
}

/// RFC 3339 text for ns since the Unix epoch (the epoch itself if out of range).
pub fn rfc3339(unix_ns: u64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns))
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}
