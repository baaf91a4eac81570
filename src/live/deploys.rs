//! The deploy panel: each environment's pipeline as its captured spans tell it (the run with
//! its strategy and outcome, every batch with its traffic share and health, a rollback and
//! what it restored, promotions, readiness, requests served by the old and new version).
//! Read from spans only, like every check, never from what the deploy simulation reports.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::telemetry::{AttrValue, OpKind, SpanRecord};

/// Batches kept per environment (a rolling deploy of many instances has many).
const BATCHES_SHOWN: usize = 40;

/// One batch of a rollout.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Batch {
    /// Its place in the rollout.
    pub index: i64,
    /// Instances it replaced.
    pub instances: i64,
    /// Traffic on the new version once it was in.
    pub traffic_percent: i64,
    /// `healthy`, `unhealthy` or `not_ready`.
    pub outcome: String,
}

/// One environment's pipeline.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Pipeline {
    /// `dev`, `staging` or `production`.
    pub environment: String,
    /// The version the last deploy brought.
    pub version: String,
    /// The version it replaced.
    pub previous: String,
    /// Rolling, blue-green or canary.
    pub strategy: String,
    /// The last deploy's outcome (`running` while its span is open).
    pub outcome: String,
    /// Instances the environment runs.
    pub instances: i64,
    /// Instances whose latest readiness probe passed.
    pub ready_instances: usize,
    /// The last deploy's batches (the first `BATCHES_SHOWN`), in order.
    pub batches: Vec<Batch>,
    /// The version a rollback restored and why, if one ran.
    pub rollback: Option<(String, String)>,
    /// Health windows watched, and how many found the environment unhealthy.
    pub health_checks: (usize, usize),
    /// Requests served per version: (version, served, failed).
    pub traffic: Vec<(String, u64, u64)>,
    /// Deploys refused (the environment was locked by another).
    pub refused: usize,
    /// Promotions into this environment: (from, outcome, reason).
    pub promotions: Vec<(String, String, String)>,
}

/// Every environment a run deployed to, in pipeline order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct DeployPanel {
    /// Per environment.
    pub pipelines: Vec<Pipeline>,
}

fn text(span: &SpanRecord, key: &str) -> String {
    span.attr_text(key).unwrap_or_default()
}

fn int(span: &SpanRecord, key: &str) -> i64 {
    match span.attr(key) {
        Some(AttrValue::Int(value)) => *value,
        _ => 0,
    }
}

fn flag(span: &SpanRecord, key: &str) -> Option<bool> {
    match span.attr(key) {
        Some(AttrValue::Bool(value)) => Some(*value),
        _ => None,
    }
}

fn order(environment: &str) -> u8 {
    match environment {
        "dev" => 0,
        "staging" => 1,
        "production" => 2,
        _ => 3,
    }
}

impl DeployPanel {
    /// The panel for `spans`; empty when the run deployed nothing.
    pub fn from_spans(spans: &[SpanRecord]) -> Self {
        let mut pipelines: BTreeMap<(u8, String), Pipeline> = BTreeMap::new();
        let mut ready: BTreeMap<(String, String), bool> = BTreeMap::new();
        let mut traffic: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        // Spans are stored as they end, so a run's batches and rollback come before the run
        // itself: they are kept by parent and joined to the environment's last run after.
        let mut batches: BTreeMap<u64, Vec<Batch>> = BTreeMap::new();
        let mut rollbacks: BTreeMap<u64, (String, String)> = BTreeMap::new();
        let mut last_run: BTreeMap<String, u64> = BTreeMap::new();
        let deploys = spans.iter().any(|s| s.name == "deploy.run");
        if !deploys {
            return Self::default();
        }
        for span in spans {
            let environment = text(span, "deploy.environment");
            if environment.is_empty() {
                continue;
            }
            let key = (order(&environment), environment.clone());
            let pipeline = pipelines.entry(key).or_insert_with(|| Pipeline {
                environment: environment.clone(),
                outcome: "not deployed".into(),
                ..Pipeline::default()
            });
            match span.name.as_str() {
                "deploy.run" if text(span, "deploy.outcome") == "refused" => pipeline.refused += 1,
                "deploy.run" => {
                    last_run.insert(environment.clone(), span.span_id);
                    pipeline.version = text(span, "deploy.version");
                    pipeline.previous = text(span, "deploy.previous_version");
                    pipeline.strategy = text(span, "deploy.strategy");
                    pipeline.instances = int(span, "deploy.instance_count");
                    pipeline.outcome = span
                        .attr_text("deploy.outcome")
                        .unwrap_or_else(|| "running".into());
                }
                "deploy.batch" => {
                    let of_run = batches
                        .entry(span.parent_span_id.unwrap_or_default())
                        .or_default();
                    if of_run.len() < BATCHES_SHOWN {
                        of_run.push(Batch {
                            index: int(span, "deploy.batch_index"),
                            instances: int(span, "deploy.batch_instances"),
                            traffic_percent: int(span, "deploy.traffic_percent"),
                            outcome: text(span, "deploy.outcome"),
                        });
                    }
                }
                "deploy.rollback" => {
                    rollbacks.insert(
                        span.parent_span_id.unwrap_or_default(),
                        (
                            text(span, "deploy.restored_version"),
                            text(span, "deploy.reason"),
                        ),
                    );
                }
                "deploy.promotion" => pipeline.promotions.push((
                    text(span, "deploy.from"),
                    text(span, "deploy.outcome"),
                    text(span, "deploy.reason"),
                )),
                "deploy.health_check" => match text(span, "deploy.check").as_str() {
                    "readiness" => {
                        let instance = text(span, "deploy.instance");
                        let now_ready = flag(span, "deploy.ready").unwrap_or(false);
                        ready.insert((environment, instance), now_ready);
                    }
                    _ => {
                        pipeline.health_checks.0 += 1;
                        if flag(span, "deploy.healthy") == Some(false) {
                            pipeline.health_checks.1 += 1;
                        }
                    }
                },
                name if name == OpKind::Request.span_name() => {
                    let served = traffic
                        .entry((environment, text(span, "deploy.version")))
                        .or_default();
                    served.0 += 1;
                    if span.is_error() {
                        served.1 += 1;
                    }
                }
                _ => {}
            }
        }
        for pipeline in pipelines.values_mut() {
            let env = &pipeline.environment;
            if let Some(run) = last_run.get(env) {
                pipeline.batches = batches.remove(run).unwrap_or_default();
                pipeline.batches.sort_by_key(|batch| batch.index);
                pipeline.rollback = rollbacks.remove(run);
            }
            pipeline.ready_instances = ready
                .iter()
                .filter(|((e, _), ready)| e == env && **ready)
                .count();
            pipeline.traffic = traffic
                .iter()
                .filter(|((e, _), _)| e == env)
                .map(|((_, version), &(served, failed))| (version.clone(), served, failed))
                .collect();
        }
        Self {
            pipelines: pipelines.into_values().collect(),
        }
    }

    /// Whether the run deployed anything.
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::{Action, Behaviour, DeploymentPlan, Environment, Strategy};

    // Proves the panel reads a canary of a bad version as the spans tell it: production's
    // run rolled back to v1, its batches in order (the first at 5 % traffic, unhealthy),
    // failed requests counted on v2, and a run without deploys has no panel.
    #[test]
    fn a_rolled_back_canary_as_its_spans_tell_it() {
        assert!(DeployPanel::from_spans(&[]).is_empty());
        let mut plan = DeploymentPlan {
            strategy: Strategy::Canary {
                steps_percent: vec![5, 25, 100],
            },
            ..DeploymentPlan::default()
        };
        let bad = Behaviour::RaisesErrorRate { error_rate: 0.3 };
        plan.catalog.set("v2", bad).unwrap_or_default();
        let action = Action::Deploy {
            environment: Environment::Production,
            version: "v2".into(),
        };
        let Ok((evidence, _)) = plan.run(&action, 7) else {
            panic!("the deploy simulation ran");
        };
        let panel = DeployPanel::from_spans(&evidence.spans);
        let production = panel
            .pipelines
            .iter()
            .find(|p| p.environment == "production")
            .cloned()
            .unwrap_or_default();
        assert_eq!(production.outcome, "rolled_back", "{production:?}");
        assert_eq!(
            production.rollback.as_ref().map(|r| r.0.as_str()),
            Some("v1")
        );
        assert_eq!(production.strategy, "canary");
        let first = production.batches.first().cloned();
        assert_eq!(first.map(|b| (b.index, b.traffic_percent)), Some((0, 5)));
        assert!(production.batches.iter().any(|b| b.outcome != "healthy"));
        let v2_failed = production
            .traffic
            .iter()
            .find(|(version, _, _)| version == "v2")
            .map_or(0, |t| t.2);
        assert!(v2_failed > 0, "{production:?}");
    }
}
