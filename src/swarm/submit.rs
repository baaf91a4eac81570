//! Submitting a run's workload through the least-loaded balancer, with a root span per
//! item, and refusing attached items the run has no board for.

use std::sync::Arc;

use opentelemetry::KeyValue;

use crate::coordination::balancer::LeastLoaded;
use crate::coordination::{Coordinator, ExistingItem, Role, TeamId, WorkSpec};
use crate::error::{Error, Result};
use crate::ids::WorkId;
use crate::telemetry::{AgentRecorder, OpKind};

/// Submits `item_count` items through a least-loaded balancer over teams of `team_sizes`,
/// recording a `work.submit` span per item, the root of that item's trace (derived from
/// `trace_salt`, see `telemetry::item_trace`); returns each item with its team, in order.
/// Shared by a swarm run and the parent of a swarm split across processes.
pub(crate) fn submit_items(
    coordinator: &dyn Coordinator,
    pipeline: &Arc<[Role]>,
    item_count: usize,
    team_sizes: &[usize],
    now_ns: &dyn Fn() -> u64,
    recorder: &mut AgentRecorder,
    trace_salt: u64,
) -> Result<Vec<(WorkId, TeamId)>> {
    let mut balancer = LeastLoaded::new(team_sizes.iter().map(|&size| size as u64).collect());
    let mut submitted = Vec::with_capacity(item_count);
    for _ in 0..item_count {
        let team = balancer
            .assign()
            .ok_or_else(|| Error::InvalidConfig("no team has capacity".into()))?;
        let spec = WorkSpec {
            work_type: "feature".into(),
            team,
            pipeline: Arc::clone(pipeline),
        };
        let now = now_ns();
        let item = coordinator.submit(spec, now)?;
        submitted.push((item, team));
        let attrs = vec![
            KeyValue::new("work.item_id", item.to_string()),
            KeyValue::new("work.team", team.to_string()),
            KeyValue::new("work.type", "feature"),
        ];
        let root = crate::telemetry::item_root(trace_salt, item);
        recorder.item_root_op(root, OpKind::Submit, now, now, attrs);
    }
    Ok(submitted)
}

/// Refuses attached items this run has no board for (a team or stage past its own).
pub(super) fn check_existing(
    items: &[ExistingItem],
    team_count: usize,
    stage_count: usize,
) -> Result<()> {
    for existing in items {
        if existing.team.0 as usize >= team_count || existing.stage >= stage_count {
            return Err(Error::InvalidConfig(format!(
                "item {} is for {} at stage {}, but this run has {team_count} team(s) and \
                 {stage_count} stage(s): run with the same --teams as the process that \
                 submitted the work",
                existing.item, existing.team, existing.stage
            )));
        }
    }
    Ok(())
}
