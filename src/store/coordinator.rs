//! `FileStore`: a `Coordinator` whose whole state is the JSON files of a directory.
//!
//! Every call that changes state is one transaction: take the directory lock, read the
//! files it needs, decide, write back what changed, release. Decisions are made under the
//! lock on what the files say now, so any number of threads and OS processes sharing the
//! directory see one order of claims: one winner per item and stage. `peek` takes no lock:
//! files are only ever replaced whole, so an unlocked read sees a consistent version.
//!
//! Times in the files are absolute (`id_epoch_ns + now_ns`), so processes with their own
//! run clocks agree on leases as long as they share an epoch.

use std::path::{Path, PathBuf};

use super::entry::{holds, reopen, role_at, status_of, team_of};
use super::files::{read_array, stage_array, DirLock};
use super::journal;
use super::layout::*;
use crate::coordination::*;
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};

/// A coordinator backed by a directory of JSON files.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    id_epoch_ns: u64,
    lease_duration_ns: u64,
}

/// What one transaction read, and which parts it changed.
#[derive(Debug, Default)]
struct State {
    claims: Vec<WorkClaim>,
    agents: Vec<AgentStatus>,
    log: Vec<LogEntry>,
    claims_changed: bool,
    agents_changed: bool,
    log_changed: bool,
}

impl State {
    fn item(&mut self, item: WorkId) -> Result<&mut WorkClaim> {
        let id = item.to_string();
        self.claims
            .iter_mut()
            .find(|claim| claim.work_item_id == id)
            .ok_or(Error::UnknownWorkItem(id))
    }

    fn agent(&mut self, agent: AgentId) -> Result<&mut AgentStatus> {
        let id = agent.to_string();
        self.agents
            .iter_mut()
            .find(|status| status.agent_id == id)
            .ok_or(Error::UnknownAgent(id))
    }

    /// Marks the agent alive at `at_ns` and adds `workload_change` to what it holds.
    fn touch(&mut self, agent: AgentId, at_ns: u64, workload_change: i32) -> Result<()> {
        let status = self.agent(agent)?;
        status.last_heartbeat_ns = status.last_heartbeat_ns.max(at_ns);
        status.last_heartbeat = rfc3339(status.last_heartbeat_ns);
        status.current_workload = status
            .current_workload
            .saturating_add_signed(workload_change);
        self.agents_changed = true;
        Ok(())
    }
}

impl FileStore {
    /// A store in `dir` (created if missing); leases last `lease_duration_ns` past an agent's
    /// last sign of life; `id_epoch_ns` turns callers' run-relative times into absolute ones.
    pub fn open(dir: &Path, id_epoch_ns: u64, lease_duration_ns: u64) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|error| Error::Store {
            path: dir.to_path_buf(),
            problem: error.to_string(),
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            id_epoch_ns,
            lease_duration_ns,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every item in the store with its team and current stage, read without the lock
    /// (files are replaced whole): what a process attaching to the store puts on its boards.
    pub fn items(&self) -> Result<Vec<ExistingItem>> {
        let claims: Vec<WorkClaim> = read_array(&self.dir.join(WORK_CLAIMS_FILE))?;
        claims
            .iter()
            .map(|claim| {
                let item = WorkId::parse(&claim.work_item_id).ok_or_else(|| {
                    Error::InvalidConfig(format!(
                        "{}: work item id «{}» is not one swarmspec issued",
                        WORK_CLAIMS_FILE, claim.work_item_id
                    ))
                })?;
                Ok(ExistingItem {
                    item,
                    team: team_of(claim),
                    stage: claim.stage,
                    finished: status_of(claim) == ItemStatus::Done,
                })
            })
            .collect()
    }

    /// Runs `change` on the current state under the directory lock, then writes back the
    /// files it changed. `with_log` says whether it needs the coordination log.
    fn transact<T>(
        &self,
        with_log: bool,
        change: impl FnOnce(&mut State) -> Result<T>,
    ) -> Result<T> {
        let _lock = DirLock::acquire(&self.dir)?;
        journal::recover(&self.dir)?;
        let (claims_path, agents_path, log_path) = (
            self.dir.join(WORK_CLAIMS_FILE),
            self.dir.join(AGENT_STATUS_FILE),
            self.dir.join(COORDINATION_LOG_FILE),
        );
        let mut state = State {
            claims: read_array(&claims_path)?,
            agents: read_array(&agents_path)?,
            log: if with_log {
                read_array(&log_path)?
            } else {
                Vec::new()
            },
            ..State::default()
        };
        let value = change(&mut state)?;
        let mut staged = Vec::with_capacity(3);
        if state.claims_changed {
            staged.push(stage_array(&claims_path, &state.claims)?);
        }
        if state.agents_changed {
            staged.push(stage_array(&agents_path, &state.agents)?);
        }
        if state.log_changed && with_log {
            staged.push(stage_array(&log_path, &state.log)?);
        }
        // All changed files are installed together, or (after a crash) none or all of them.
        journal::commit(&self.dir, &staged)?;
        Ok(value)
    }

    /// The next id after every id of this kind in the files: unique across processes,
    /// because it is decided under the lock.
    fn next_id<'a>(
        &self,
        now_ns: u64,
        existing: impl Iterator<Item = &'a str>,
        parse: fn(&str) -> Option<u64>,
    ) -> u64 {
        let last = existing.filter_map(parse).max().unwrap_or(0);
        (self.id_epoch_ns + now_ns).max(last + 1)
    }

    /// Applies `next` to an item the agent holds; `LeaseLost` if it does not hold it.
    fn while_held(
        &self,
        agent: AgentId,
        item: WorkId,
        now_ns: u64,
        next: impl FnOnce(&mut WorkClaim),
    ) -> Result<Ownership> {
        let at_ns = self.id_epoch_ns + now_ns;
        self.transact(false, |state| {
            state.agent(agent)?;
            let claim = state.item(item)?;
            if !holds(claim, agent) {
                return Ok(Ownership::LeaseLost);
            }
            let was_held = matches!(claim.status.as_str(), STATUS_ACTIVE | STATUS_IN_PROGRESS);
            next(claim);
            let still_held = matches!(claim.status.as_str(), STATUS_ACTIVE | STATUS_IN_PROGRESS);
            state.claims_changed = true;
            let released = i32::from(was_held && !still_held);
            state.touch(agent, at_ns, -released)?;
            Ok(Ownership::Held)
        })
    }
}

impl Coordinator for FileStore {
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId> {
        let at_ns = self.id_epoch_ns + now_ns;
        self.transact(false, |state| {
            let ids = state.agents.iter().map(|a| a.agent_id.as_str());
            let id = AgentId(self.next_id(now_ns, ids, |t| AgentId::parse(t).map(|a| a.0)));
            state.agents.push(AgentStatus {
                agent_id: id.to_string(),
                team: team.to_string(),
                status: "active".into(),
                capacity: 1,
                current_workload: 0,
                last_heartbeat: rfc3339(at_ns),
                role: role.as_str().into(),
                last_heartbeat_ns: at_ns,
            });
            state.agents_changed = true;
            Ok(id)
        })
    }

    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        if spec.pipeline.is_empty() {
            return Err(Error::InvalidConfig(
                "a work pipeline needs at least 1 stage".into(),
            ));
        }
        self.transact(false, |state| {
            let ids = state.claims.iter().map(|c| c.work_item_id.as_str());
            let id = WorkId(self.next_id(now_ns, ids, |t| WorkId::parse(t).map(|w| w.0)));
            state.claims.push(WorkClaim {
                work_item_id: id.to_string(),
                agent_id: None,
                claimed_at: None,
                work_type: spec.work_type.clone(),
                priority: "medium".into(),
                description: String::new(),
                status: STATUS_PENDING.into(),
                team: spec.team.to_string(),
                progress: 0,
                telemetry: Telemetry::default(),
                stage: 0,
                pipeline: spec
                    .pipeline
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect(),
            });
            state.claims_changed = true;
            Ok(id)
        })
    }

    fn peek(&self, item: WorkId) -> Result<ItemView> {
        let mut state = State {
            claims: read_array(&self.dir.join(WORK_CLAIMS_FILE))?,
            ..State::default()
        };
        let claim = state.item(item)?;
        Ok(ItemView {
            status: status_of(claim),
            stage: claim.stage,
            role: role_at(claim)?,
            team: team_of(claim),
            holder: claim.agent_id.as_deref().and_then(AgentId::parse),
        })
    }

    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        let at_ns = self.id_epoch_ns + now_ns;
        self.transact(false, |state| {
            let caller_role = state.agent(agent)?.role.clone();
            let claim = state.item(item)?;
            let needed = role_at(claim)?;
            if needed.as_str() != caller_role {
                return Ok(ClaimOutcome::WrongRole { needed });
            }
            if claim.status != STATUS_PENDING {
                let holder = claim.agent_id.as_deref().and_then(AgentId::parse);
                return Ok(ClaimOutcome::Conflict { holder });
            }
            claim.status = STATUS_ACTIVE.into();
            claim.agent_id = Some(agent.to_string());
            claim.claimed_at = Some(rfc3339(at_ns));
            claim.progress = 0;
            let stage = claim.stage;
            state.claims_changed = true;
            state.touch(agent, at_ns, 1)?;
            Ok(ClaimOutcome::Claimed { stage })
        })
    }

    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        self.while_held(agent, item, now_ns, |claim| {
            claim.progress = percent.min(100);
            claim.status = STATUS_IN_PROGRESS.into();
        })
    }

    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        let at_ns = self.id_epoch_ns + now_ns;
        self.transact(true, |state| {
            state.agent(agent)?;
            let claim = state.item(item)?;
            if !holds(claim, agent) {
                return Ok(CompleteOutcome::LeaseLost);
            }
            let stage = claim.stage;
            let next = claim.pipeline.get(stage + 1).and_then(|r| Role::parse(r));
            claim.status = if next.is_some() {
                STATUS_STAGE_DONE
            } else {
                STATUS_COMPLETED
            }
            .into();
            claim.progress = 100;
            let entry = LogEntry {
                work_item_id: claim.work_item_id.clone(),
                completed_at: rfc3339(at_ns),
                agent_id: agent.to_string(),
                result: claim.status.clone(),
                velocity_points: 1,
                stage,
            };
            state.log.push(entry);
            state.claims_changed = true;
            state.log_changed = true;
            state.touch(agent, at_ns, -1)?;
            Ok(CompleteOutcome::Completed { stage, next })
        })
    }

    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        self.while_held(agent, item, now_ns, reopen)
    }

    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        let at_ns = self.id_epoch_ns + now_ns;
        self.transact(false, |state| {
            state.agent(agent)?;
            let claim = state.item(item)?;
            let ready = claim.status == STATUS_STAGE_DONE
                && claim.agent_id.as_deref() == Some(agent.to_string().as_str());
            if !ready || claim.stage + 1 >= claim.pipeline.len() {
                return Ok(HandoffOutcome::Refused);
            }
            claim.stage += 1;
            reopen(claim);
            let outcome = HandoffOutcome::HandedOff {
                stage: claim.stage,
                role: role_at(claim)?,
            };
            state.claims_changed = true;
            state.touch(agent, at_ns, 0)?;
            Ok(outcome)
        })
    }

    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        let at_ns = self.id_epoch_ns + now_ns;
        self.transact(false, |state| state.touch(agent, at_ns, 0))
    }

    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        let at_ns = self.id_epoch_ns + now_ns;
        let lease_ns = self.lease_duration_ns;
        self.transact(false, |state| {
            let stale: Vec<String> = state
                .agents
                .iter()
                .filter(|a| at_ns.saturating_sub(a.last_heartbeat_ns) >= lease_ns)
                .map(|a| a.agent_id.clone())
                .collect();
            let mut reaped = Vec::new();
            for claim in &mut state.claims {
                let held = matches!(claim.status.as_str(), STATUS_ACTIVE | STATUS_IN_PROGRESS);
                let Some(holder) = claim.agent_id.clone().filter(|h| held && stale.contains(h))
                else {
                    continue;
                };
                if let (Some(item), Some(previous_holder)) =
                    (WorkId::parse(&claim.work_item_id), AgentId::parse(&holder))
                {
                    reaped.push(Reaped {
                        item,
                        previous_holder,
                        stage: claim.stage,
                    });
                }
                reopen(claim);
                state.claims_changed = true;
            }
            for agent in state
                .agents
                .iter_mut()
                .filter(|a| stale.contains(&a.agent_id))
            {
                let lost = reaped
                    .iter()
                    .filter(|r| r.previous_holder.to_string() == agent.agent_id)
                    .count();
                agent.current_workload = agent.current_workload.saturating_sub(lost as u32);
                state.agents_changed |= lost > 0;
            }
            reaped.sort_by_key(|r| r.item);
            Ok(reaped)
        })
    }

    fn unfinished_items(&self) -> Result<Option<usize>> {
        let claims: Vec<WorkClaim> = read_array(&self.dir.join(WORK_CLAIMS_FILE))?;
        let unfinished = claims
            .iter()
            .filter(|claim| status_of(claim) != ItemStatus::Done)
            .count();
        Ok(Some(unfinished))
    }
}
