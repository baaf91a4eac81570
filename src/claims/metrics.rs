//! The metrics claims can rest on: a fixed catalogue (so a ledger naming an unknown metric is
//! refused at load time) and their computation from a scenario's evidence.
//!
//! Latency and throughput figures are taken only from runs on the real clock: a
//! deterministic run's durations are simulated, and a claim about speed must rest on a
//! measurement, not on the delay model.
//!
//! Every metric also has a minimum of evidence below which it is *unmeasured*, with the
//! reason, rather than measured as a vacuous figure: "zero double holds" from a run where no
//! claim succeeded, or a p99 from three samples, could not have refuted anything.

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
    /// What a run must show before the metric counts as measured, in words.
    pub minimum: &'static str,
}

/// Samples a latency or throughput figure needs: fewer cannot place a p99.
pub const LATENCY_SAMPLES_MIN: u64 = 100;

/// Every metric swarmspec can produce.
pub const CATALOGUE: &[MetricDef] = &[
    MetricDef { name: "coordination.double_holds", unit: "holds", better: Better::Lower,
        description: "overlapping holds of one item by two agents, rebuilt from claim/complete/release/reap spans",
        minimum: "successful claims by at least two distinct agents" },
    MetricDef { name: "coordination.throughput_ops_s", unit: "ops/s", better: Better::Higher,
        description: "claim, progress, complete, release and handoff operations per second of the swarm.run span (real clock only)",
        minimum: "a real-clock run with at least 100 coordination operations" },
    MetricDef { name: "work.claim.throughput_ops_s", unit: "ops/s", better: Better::Higher,
        description: "claims per second of the swarm.run span (real clock only)",
        minimum: "a real-clock run with at least 100 claims" },
    MetricDef { name: "coordination.latency_ms_mean", unit: "ms", better: Better::Lower,
        description: "mean latency over every coordination operation's histogram (real clock only)",
        minimum: "a real-clock run with at least 100 coordination operations" },
    MetricDef { name: "work.claim.latency_ms_p99", unit: "ms", better: Better::Lower,
        description: "99th percentile of the work.claim histogram (real clock only)",
        minimum: "a real-clock run with at least 100 claims" },
    MetricDef { name: "agent.success_rate_percent", unit: "%", better: Better::Higher,
        description: "agent sessions that neither crashed nor recorded an error span",
        minimum: "at least one agent session" },
    MetricDef { name: "work.completion_percent", unit: "%", better: Better::Higher,
        description: "submitted items with a completed work.complete at the last stage seen",
        minimum: "at least one submitted item" },
    MetricDef { name: "memory.rss_mb_per_100_agents", unit: "MB", better: Better::Lower,
        description: "growth of the process's resident memory during the run, per 100 agents",
        minimum: "a swarm run in a process of its own whose resident memory grew" },
    MetricDef { name: "deploy.duration_s_max", unit: "s", better: Better::Lower,
        description: "longest deploy.run span (simulated time)",
        minimum: "at least one deploy.run span" },
    MetricDef { name: "deploy.failed_requests", unit: "requests", better: Better::Lower,
        description: "request spans with request.outcome = failed",
        minimum: "a deploy with at least one request span" },
    MetricDef { name: "audit.chain_intact", unit: "(1 = intact)", better: Better::Higher,
        description: "1 when the audit chain built from the run verifies, else 0",
        minimum: "an audit chain built from the run's spans" },
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

/// Metrics a scenario's evidence touched but did not measure, with the reason (the metric's
/// minimum evidence was not met).
pub type Unmeasured = BTreeMap<String, String>;

/// What one scenario's evidence measured, and what it fell short of measuring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurement {
    /// Metrics that met their minimum evidence.
    pub observed: Observed,
    /// Metrics the run touched but could not measure, with why.
    pub unmeasured: Unmeasured,
}

impl Measurement {
    pub(crate) fn put(&mut self, name: &str, value: f64) {
        self.observed.insert(name.to_owned(), value);
    }

    pub(crate) fn short(&mut self, name: &str, why: String) {
        self.unmeasured.insert(name.to_owned(), why);
    }
}

/// Every metric this evidence supports (metrics whose spans are absent are left out, so a
/// claim resting on them stays UNVERIFIED rather than passing on nothing).
pub fn from_evidence(evidence: &Evidence) -> Observed {
    measure(evidence).observed
}

/// Double holds count only when at least two distinct agents held items: with one holder
/// (or none, when every claim failed) an overlap was impossible, so zero proves nothing.
fn measure_double_holds(evidence: &Evidence, out: &mut Measurement) {
    let name = "coordination.double_holds";
    if !evidence.spans.iter().any(|s| s.name == "work.claim") {
        return;
    }
    let holders: std::collections::HashSet<String> = evidence
        .named("work.claim")
        .filter(|s| s.attr_text("work.outcome").as_deref() == Some("claimed"))
        .filter_map(|s| s.attr_text("agent.id"))
        .collect();
    if holders.len() < 2 {
        out.short(
            name,
            format!(
                "{} agent(s) held an item: an overlap needs successful claims by at least two",
                holders.len()
            ),
        );
        return;
    }
    let overlaps = history::overlapping_holds(&history::holds(&evidence.spans)).len();
    out.put(name, overlaps as f64);
}

fn measure_speed(evidence: &Evidence, out: &mut Measurement) {
    // A virtual-clock run did not measure speed at all (its durations are modelled), so it
    // is not listed as falling short either.
    let Some(window_ns) = on_real_clock(evidence) else {
        return;
    };
    let seconds = window_ns as f64 / 1e9;
    let mut count = 0;
    let mut sum_ns = 0.0;
    for op in COORDINATION_OPS {
        let histogram = evidence.latencies.histogram(op);
        count += histogram.len();
        sum_ns += histogram.mean() * histogram.len() as f64;
    }
    let few =
        |what: &str, n: u64| format!("only {n} {what} (at least {LATENCY_SAMPLES_MIN} needed)");
    if count >= LATENCY_SAMPLES_MIN {
        out.put("coordination.throughput_ops_s", count as f64 / seconds);
        out.put("coordination.latency_ms_mean", sum_ns / count as f64 / 1e6);
    } else {
        out.short(
            "coordination.throughput_ops_s",
            few("coordination operations", count),
        );
        out.short(
            "coordination.latency_ms_mean",
            few("coordination operations", count),
        );
    }
    let claims = evidence.latencies.histogram(OpKind::Claim);
    if claims.len() >= LATENCY_SAMPLES_MIN {
        out.put("work.claim.throughput_ops_s", claims.len() as f64 / seconds);
        out.put(
            "work.claim.latency_ms_p99",
            claims.value_at_quantile(0.99) as f64 / 1e6,
        );
    } else {
        out.short("work.claim.throughput_ops_s", few("claims", claims.len()));
        out.short("work.claim.latency_ms_p99", few("claims", claims.len()));
    }
}

fn measure_deploys(evidence: &Evidence, out: &mut Measurement) {
    let deploys: Vec<f64> = evidence
        .named("deploy.run")
        .map(|s| s.duration_ns() as f64 / 1e9)
        .collect();
    if deploys.is_empty() {
        return;
    }
    out.put(
        "deploy.duration_s_max",
        deploys.iter().copied().fold(0.0, f64::max),
    );
    let requests = evidence.named("request").count();
    if requests == 0 {
        out.short(
            "deploy.failed_requests",
            "the deploy served no request".into(),
        );
        return;
    }
    let failed = evidence
        .named("request")
        .filter(|s| s.attr_text("request.outcome").as_deref() == Some("failed"))
        .count();
    out.put("deploy.failed_requests", failed as f64);
}

/// Every metric this evidence measured, and the ones it touched without meeting their
/// minimum evidence.
pub fn measure(evidence: &Evidence) -> Measurement {
    let mut out = Measurement::default();
    measure_double_holds(evidence, &mut out);
    measure_speed(evidence, &mut out);
    if let Some(rate) = agent_success_percent(evidence) {
        out.put("agent.success_rate_percent", rate);
    }
    if let Some(done) = completion_percent(evidence) {
        out.put("work.completion_percent", done);
    }
    measure_deploys(evidence, &mut out);
    out
}

fn agent_success_percent(evidence: &Evidence) -> Option<f64> {
    // By agent id, not trace: an agent's calls about an item sit in that item's trace.
    let sessions: Vec<String> = evidence
        .named("agent.session")
        .filter_map(|s| s.attr_text("agent.id"))
        .collect();
    if sessions.is_empty() {
        return None;
    }
    let failed: std::collections::HashSet<String> = evidence
        .spans
        .iter()
        .filter(|s| s.is_error() || s.name == "agent.crash")
        .filter_map(|s| s.attr_text("agent.id"))
        .collect();
    let ok = sessions
        .iter()
        .filter(|agent| !failed.contains(*agent))
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
