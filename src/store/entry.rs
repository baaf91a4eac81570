//! Reading and changing one `work_claims.json` entry in the `Coordinator`'s terms: who holds
//! it, which role its stage needs, its status, its team, and reopening it.

use super::layout::*;
use crate::coordination::{ItemStatus, Role, TeamId};
use crate::error::{Error, Result};
use crate::ids::AgentId;

/// Whether `agent` holds the item now (claimed, at its current stage).
pub fn holds(claim: &WorkClaim, agent: AgentId) -> bool {
    matches!(claim.status.as_str(), STATUS_ACTIVE | STATUS_IN_PROGRESS)
        && claim.agent_id.as_deref() == Some(agent.to_string().as_str())
}

/// The role the item's current stage needs.
pub fn role_at(claim: &WorkClaim) -> Result<Role> {
    let text = claim.pipeline.get(claim.stage).ok_or_else(|| {
        Error::InvalidConfig(format!(
            "{} is at stage {} of a {}-stage pipeline",
            claim.work_item_id,
            claim.stage,
            claim.pipeline.len()
        ))
    })?;
    Role::parse(text).ok_or_else(|| {
        Error::InvalidConfig(format!("{}: unknown role «{text}»", claim.work_item_id))
    })
}

/// The item's status in the trait's vocabulary.
pub fn status_of(claim: &WorkClaim) -> ItemStatus {
    match claim.status.as_str() {
        STATUS_ACTIVE | STATUS_IN_PROGRESS => ItemStatus::Claimed,
        STATUS_STAGE_DONE => ItemStatus::StageDone,
        STATUS_COMPLETED => ItemStatus::Done,
        _ => ItemStatus::Open,
    }
}

/// The team of an item (`team-N`; another tool's free-form team names read as team 0).
pub fn team_of(claim: &WorkClaim) -> TeamId {
    let team = claim
        .team
        .strip_prefix("team-")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    TeamId(team)
}

/// Makes the item claimable again at its current stage, held by nobody.
pub fn reopen(claim: &mut WorkClaim) {
    claim.status = STATUS_PENDING.into();
    claim.agent_id = None;
    claim.claimed_at = None;
    claim.progress = 0;
}
