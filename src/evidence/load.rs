//! Load spread across teams: claims won per agent, by team, within a bound of each other.

use std::collections::{BTreeMap, BTreeSet};

use super::Verdict;
use crate::telemetry::SpanRecord;

/// Claims won per agent in each team differ from their mean by at most `imbalance_max`
/// (0.1 = 10 %), across at least two teams.
pub fn per_agent_claims_balanced(spans: &[SpanRecord], imbalance_max: f64) -> Verdict {
    let mut agents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut claims: BTreeMap<String, u64> = BTreeMap::new();
    for span in spans {
        let (Some(team), Some(agent)) = (span.attr_text("agent.team"), span.attr_text("agent.id"))
        else {
            continue;
        };
        if span.name == "agent.register" {
            agents.entry(team.clone()).or_default().insert(agent);
        }
        if span.name == "work.claim" && span.attr_text("work.outcome").as_deref() == Some("claimed")
        {
            *claims.entry(team).or_default() += 1;
        }
    }
    let per_agent: Vec<(String, f64, u64, usize)> = agents
        .iter()
        .map(|(team, members)| {
            let won = claims.get(team).copied().unwrap_or(0);
            (
                team.clone(),
                won as f64 / members.len() as f64,
                won,
                members.len(),
            )
        })
        .collect();
    let mean = per_agent.iter().map(|t| t.1).sum::<f64>() / per_agent.len().max(1) as f64;
    let worst = per_agent
        .iter()
        .map(|t| {
            if mean > 0.0 {
                (t.1 - mean).abs() / mean
            } else {
                1.0
            }
        })
        .fold(0.0, f64::max);
    Verdict::new(
        "claims per agent are balanced across teams",
        per_agent.len() >= 2 && mean > 0.0 && worst <= imbalance_max,
        format!(
            "every team within {:.0} % of the mean claims per agent",
            imbalance_max * 100.0
        ),
        format!(
            "worst team {:.1} % from the mean of {mean:.2}",
            worst * 100.0
        ),
        per_agent
            .iter()
            .map(|(team, rate, won, members)| {
                format!("{team}: {won} claims / {members} agents = {rate:.2}")
            })
            .collect(),
    )
}
