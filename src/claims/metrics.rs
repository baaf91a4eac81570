//! The metrics claims can rest on: a fixed catalogue (so a ledger naming an unknown metric is
//! refused at load time) and their computation from a scenario's evidence.
//!
//! Latency and throughput figures are taken only from runs on the real clock: a
//! deterministic run's durations are simulated, and a claim about speed must rest on a
//! measurement, not on the delay model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::evidence::{history, Evidence};
use crate::telemetry::OpKind;

/// Which way a metric improves, for regressions and for picking the worst observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Better {
    /// Larger is better (throughput, success rate).
    Higher,
    /// Smaller is better (latency, conflicts).
    Lower,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// The name a ledger uses.
    pub name: &'static str,
    /// Unit, as printed.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// How it is measured, in words.
    pub description: &'static str,
}

/// Every metric swarmspec can produce.
pub const CATALOGUE: &[MetricDef] = &[
    MetricDef { name: "coordination.double_holds", unit: "holds", better: Better::Lower,
        description: "overlapping holds of one item by two agents, rebuilt from claim/complete/release/reap spans" },
    MetricDef { name: "coordination.throughput_ops_s", unit: "ops/s", better: Better::Higher,
        description: "claim, progress, complete, release and handoff operations per second of the swarm.run span (real clock only)" },
    MetricDef { name: "work.claim.throughput_ops_s", unit: "ops/s", better: Better::Higher,
        description: "claims per second of the swarm.run span (real clock only)" },
    MetricDef { name: "coordination.latency_ms_mean", unit: "ms", better: Better::Lower,
        description: "mean latency over every coordination operation's histogram (real clock only)" },
    MetricDef { name: "work.claim.latency_ms_p99", unit: "ms", better: Better::Lower,
        description: "99th percentile of the work.claim histogram (real clock only)" },
    MetricDef { name: "agent.success_rate_percent", unit: "%", better: Better::Higher,
        description: "agent sessions that neither crashed nor recorded an error span" },
    MetricDef { name: "work.completion_percent", unit: "%", better: Better::Higher,
        description: "submitted items with a completed work.complete at the last stage seen" },
    MetricDef { name: "memory.rss_mb_per_100_agents", unit: "MB", better: Better::Lower,
        description: "growth of the process's resident memory during the run, per 100 agents" },
    MetricDef { name: "deploy.duration_s_max", unit: "s", better: Better::Lower,
        description: "longest deploy.run span (simulated time)" },
    MetricDef { name: "deploy.failed_requests", unit: "requests", better: Better::Lower,
        description: "request spans with request.outcome = failed" },
    MetricDef { name: "audit.chain_intact", unit: "(1 = intact)", better: Better::Higher,
        description: "1 when the audit chain built from the run verifies, else 0" },
];

/// The catalogue entry for `name`.
pub fn lookup(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|def| def.name == name)
}

/// Metric values by name, as one scenario observed them.
pub type Observed = BTreeMap<String, f64>;

const COORDINATION_OPS: [OpKind; 5] = [
    OpKind::Claim,
    OpKind::Progress,
    OpKind::Complete,
    OpKind::Release,
    OpKind::Handoff,
];

fn on_real_clock(evidence: &Evidence) -> Option<u64> {
    let run = evidence.named("swarm.run").next()?;
    (run.attr_text("swarm.mode").as_deref() == Some("throughput")).then(|| run.duration_ns().max(1))
}

/// Every metric this evidence supports (metrics whose spans are absent are left out, so a
/// claim resting on them stays UNVERIFIED rather than passing on nothing).
pub fn from_evidence(evidence: &Evidence) -> Observed {
    let mut observed = Observed::new();
    let spans = &evidence.spans;
    let claims_seen = spans.iter().any(|s| s.name == "work.claim");
    if claims_seen {
        let overlaps = history::overlapping_holds(&history::holds(spans)).len();
        observed.insert("coordination.double_holds".into(), overlaps as f64);
    }
    if let Some(window_ns) = on_real_clock(evidence) {
        let seconds = window_ns as f64 / 1e9;
        let mut count = 0;
        let mut sum_ns = 0.0;
        for op in COORDINATION_OPS {
            let histogram = evidence.latencies.histogram(op);
            count += histogram.len();
            sum_ns += histogram.mean() * histogram.len() as f64;
        }
        if count > 0 {
            observed.insert(
                "coordination.throughput_ops_s".into(),
                count as f64 / seconds,
            );
            observed.insert(
                "coordination.latency_ms_mean".into(),
                sum_ns / count as f64 / 1e6,
            );
        }
        let claims = evidence.latencies.histogram(OpKind::Claim);
        if !claims.is_empty() {
            observed.insert(
                "work.claim.throughput_ops_s".into(),
                claims.len() as f64 / seconds,
            );
            observed.insert(
                "work.claim.latency_ms_p99".into(),
                claims.value_at_quantile(0.99) as f64 / 1e6,
            );
        }
    }
    if let Some(rate) = agent_success_percent(evidence) {
        observed.insert("agent.success_rate_percent".into(), rate);
    }
    if let Some(done) = completion_percent(evidence) {
        observed.insert("work.completion_percent".into(), done);
    }
    let deploys: Vec<f64> = evidence
        .named("deploy.run")
        .map(|s| s.duration_ns() as f64 / 1e9)
        .collect();
    if !deploys.is_empty() {
        observed.insert(
            "deploy.duration_s_max".into(),
            deploys.iter().copied().fold(0.0, f64::max),
        );
        let failed = evidence
            .named("request")
            .filter(|s| s.attr_text("request.outcome").as_deref() == Some("failed"))
            .count();
        observed.insert("deploy.failed_requests".into(), failed as f64);
    }
    observed
}

fn agent_success_percent(evidence: &Evidence) -> Option<f64> {
    let sessions: Vec<u128> = evidence
        .named("agent.session")
        .map(|s| s.trace_id)
        .collect();
    if sessions.is_empty() {
        return None;
    }
    let failed: std::collections::HashSet<u128> = evidence
        .spans
        .iter()
        .filter(|s| s.is_error() || s.name == "agent.crash")
        .map(|s| s.trace_id)
        .collect();
    let ok = sessions
        .iter()
        .filter(|trace| !failed.contains(trace))
        .count();
    Some(ok as f64 * 100.0 / sessions.len() as f64)
}

fn completion_percent(evidence: &Evidence) -> Option<f64> {
    let submitted = evidence.named("work.submit").count();
    if submitted == 0 {
        return None;
    }
    let last_stage = evidence
        .named("work.complete")
        .filter_map(|s| s.attr_text("work.stage")?.parse::<usize>().ok())
        .max()?;
    let (_, unfinished) = history::unfinished_items(&evidence.spans, last_stage);
    let missing = unfinished.len();
    Some((submitted - missing.min(submitted)) as f64 * 100.0 / submitted as f64)
}
