//! Plain data the `Coordinator` trait speaks: roles, teams, work specs, outcomes.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{AgentId, WorkId};

/// What an agent does in a Scrum-at-Scale team; work stages name the role that must do them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Role {
    /// Product manager: shapes the item.
    Pm,
    /// Architect: designs it.
    Architect,
    /// Developer: builds it.
    Developer,
    /// Tester: checks it.
    Tester,
    /// Release agent: ships it.
    Release,
}

impl Role {
    /// Every role, in pipeline order.
    pub const ALL: [Role; 5] = [
        Role::Pm,
        Role::Architect,
        Role::Developer,
        Role::Tester,
        Role::Release,
    ];

    /// The name used in spans and in feature files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pm => "pm",
            Role::Architect => "architect",
            Role::Developer => "developer",
            Role::Tester => "tester",
            Role::Release => "release",
        }
    }

    /// Parses a role name as written in feature files (`pm`, `architect`, …).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A team (pool) of agents; work is assigned to one team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TeamId(pub u32);

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "team-{}", self.0)
    }
}

/// What a submitter says about a new work item.
#[derive(Debug, Clone)]
pub struct WorkSpec {
    /// Kind of work (`feature`, `bug`, …); free text, shown in spans.
    pub work_type: String,
    /// The team whose agents may claim it.
    pub team: TeamId,
    /// The roles it passes through, in order; never empty.
    pub pipeline: Arc<[Role]>,
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ItemStatus {
    /// Claimable at its current stage.
    Open,
    /// Held by an agent at its current stage.
    Claimed,
    /// Its current stage is complete and waits for a handoff to the next.
    StageDone,
    /// Its last stage is complete.
    Done,
}

/// A read-only view of an item, as an agent sees it on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemView {
    /// Current status.
    pub status: ItemStatus,
    /// Index of the current stage in the pipeline.
    pub stage: usize,
    /// Role that must do the current stage.
    pub role: Role,
    /// The team the item belongs to.
    pub team: TeamId,
    /// Current holder, if any.
    pub holder: Option<AgentId>,
}

/// The result of a claim attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller now holds the item at this stage.
    Claimed { stage: usize },
    /// Someone else holds it, or it is no longer open.
    Conflict { holder: Option<AgentId> },
    /// The current stage needs another role.
    WrongRole { needed: Role },
}

impl ClaimOutcome {
    /// The `work.outcome` attribute value for this result.
    pub fn label(&self) -> &'static str {
        match self {
            ClaimOutcome::Claimed { .. } => "claimed",
            ClaimOutcome::Conflict { .. } => "conflict",
            ClaimOutcome::WrongRole { .. } => "wrong_role",
        }
    }
}

/// Whether the caller still held the item when its call landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// The call applied.
    Held,
    /// The caller's lease was lost (reaped, or taken over): nothing changed.
    LeaseLost,
}

impl Ownership {
    /// The `work.outcome` attribute value.
    pub fn label(&self) -> &'static str {
        match self {
            Ownership::Held => "ok",
            Ownership::LeaseLost => "lease_lost",
        }
    }
}

/// The result of completing a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteOutcome {
    /// The stage is done; `next` is the role of the following stage, if there is one.
    Completed { stage: usize, next: Option<Role> },
    /// The caller no longer held the item: nothing changed.
    LeaseLost,
}

impl CompleteOutcome {
    /// The `work.outcome` attribute value.
    pub fn label(&self) -> &'static str {
        match self {
            CompleteOutcome::Completed { .. } => "completed",
            CompleteOutcome::LeaseLost => "lease_lost",
        }
    }
}

/// The result of a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffOutcome {
    /// The item is open at `stage`, for `role`.
    HandedOff { stage: usize, role: Role },
    /// The item was not in a state the caller could hand off.
    Refused,
}

/// An item reopened because its holder stopped heartbeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// The reopened item.
    pub item: WorkId,
    /// Who held it.
    pub previous_holder: AgentId,
    /// The stage it was at (it stays there, open).
    pub stage: usize,
}

/// An item already in a coordinator's state, as a process attaching to it finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingItem {
    /// The item.
    pub item: WorkId,
    /// The team whose agents may claim it.
    pub team: TeamId,
    /// Its current stage.
    pub stage: usize,
    /// Whether its last stage is already done.
    pub finished: bool,
}
