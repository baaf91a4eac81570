//! Whole deploy sessions run through the simulation and judged by the evidence checks, the
//! way the Gherkin suite does it, so a regression shows here first with a short message.

use super::*;
use crate::error::Error;
use crate::evidence::{deployment as served, digest, rollout, Evidence};

const SEED: u64 = 11;

fn run(plan: &DeploymentPlan, action: Action) -> (Evidence, DeployReport) {
    plan.run(&action, SEED).expect("the plan is valid")
}

fn deploy(env: Environment, version: &str) -> Action {
    Action::Deploy {
        environment: env,
        version: version.into(),
    }
}

fn with_version(strategy: Strategy, version: &str, behaviour: Behaviour) -> DeploymentPlan {
    let mut plan = DeploymentPlan {
        strategy,
        ..DeploymentPlan::default()
    };
    plan.catalog.set(version, behaviour).expect("valid profile");
    plan
}

// Proves a good rolling deploy of 20 instances under 100 clients loses no request, routes
// none to an unready instance, and finishes within two simulated minutes.
#[test]
fn good_rolling_deploy_has_zero_downtime() {
    let plan = DeploymentPlan::default();
    let (evidence, _) = run(&plan, deploy(Environment::Production, "v2"));
    let spans = &evidence.spans;
    for verdict in [
        served::failed_requests_at_most(spans, Some("production"), 0),
        served::no_traffic_to_unready(spans),
        rollout::deploy_duration_within(spans, "production", 120.0),
    ] {
        assert!(verdict.passed, "{verdict}");
    }
    let batches = spans.iter().filter(|s| s.name == "deploy.batch").count();
    assert_eq!(batches, 4);
}

// Proves a good blue-green deploy loses no request and leaves the fleet at its size.
#[test]
fn good_blue_green_deploy_has_zero_downtime() {
    let plan = DeploymentPlan {
        strategy: Strategy::BlueGreen,
        ..DeploymentPlan::default()
    };
    let (evidence, _) = run(&plan, deploy(Environment::Staging, "v2"));
    let verdict = served::failed_requests_at_most(&evidence.spans, Some("staging"), 0);
    assert!(verdict.passed, "{verdict}");
    assert!(served::no_traffic_to_unready(&evidence.spans).passed);
}

// Proves a canary of a version failing 30 % of requests is rolled back at its 5 % step and
// the rollback puts v1 back on every instance.
#[test]
fn bad_canary_is_rolled_back_early() {
    let canary = Strategy::Canary {
        steps_percent: vec![5, 25, 100],
    };
    let plan = with_version(canary, "v2", Behaviour::RaisesErrorRate { error_rate: 0.3 });
    let (evidence, _) = run(&plan, deploy(Environment::Production, "v2"));
    let spans = &evidence.spans;
    let verdict = rollout::canary_rolled_back_before(spans, "production", "v2", 25, 0.01);
    assert!(verdict.passed, "{verdict}");
    let restored = served::rollback_restored(spans, "production", "v1", 20);
    assert!(restored.passed, "{restored}");
}

// Proves a version that fails readiness never serves, costs no request, and is rolled back.
#[test]
fn unready_version_never_serves() {
    let plan = with_version(
        Strategy::Rolling { batch_size: 5 },
        "v2",
        Behaviour::FailsReadiness,
    );
    let (evidence, _) = run(&plan, deploy(Environment::Production, "v2"));
    let spans = &evidence.spans;
    for verdict in [
        served::version_never_served(spans, "v2"),
        served::failed_requests_at_most(spans, None, 0),
        served::rollback_restored(spans, "production", "v1", 20),
    ] {
        assert!(verdict.passed, "{verdict}");
    }
}

// Proves a router that ignores readiness is caught by the unready-traffic check.
#[test]
fn broken_router_is_caught() {
    let mut plan = with_version(
        Strategy::Rolling { batch_size: 5 },
        "v2",
        Behaviour::FailsReadiness,
    );
    plan.discipline = RouterDiscipline::IgnoreReadiness;
    let (evidence, _) = run(&plan, deploy(Environment::Production, "v2"));
    assert!(!served::no_traffic_to_unready(&evidence.spans).passed);
    assert!(!served::failed_requests_at_most(&evidence.spans, None, 0).passed);
}

// Proves a second deploy to a busy environment is refused with the typed error and the
// refusal is visible to the concurrency check.
#[test]
fn contested_deploy_is_refused() {
    let plan = DeploymentPlan::default();
    let action = Action::DeployContested {
        environment: Environment::Production,
        version: "v2".into(),
        competitor: "v3".into(),
        after_ms: 10_000,
    };
    let (evidence, report) = run(&plan, action);
    assert!(matches!(
        report.refusals.as_slice(),
        [Error::DeployInProgress { running_version, .. }] if running_version == "v2"
    ));
    let verdict = rollout::concurrent_deploys_refused(&evidence.spans, "production");
    assert!(verdict.passed, "{verdict}");
}

// Proves promotion from an unhealthy staging is blocked and production is left alone.
#[test]
fn unhealthy_staging_blocks_promotion() {
    let mut plan = DeploymentPlan::default();
    plan.table.get_mut(Environment::Staging).version = "v2".into();
    plan.extra_error_rate[Environment::Staging as usize] = 0.1;
    let action = Action::Promote {
        from: Environment::Staging,
        to: Environment::Production,
        version: "v2".into(),
    };
    let (evidence, _) = run(&plan, action);
    let verdict = rollout::promotion_blocked(&evidence.spans, "staging", "production");
    assert!(verdict.passed, "{verdict}");
    assert!(!evidence.spans.iter().any(|s| s.name == "deploy.run"));
}

// Proves a healthy version is promoted through every environment, and the same seed leaves
// the same spans.
#[test]
fn promotion_through_all_is_deterministic() {
    let plan = DeploymentPlan::default();
    let action = Action::ThroughAll {
        version: "v2".into(),
    };
    let (first, _) = run(&plan, action.clone());
    let (second, _) = run(&plan, action);
    assert_eq!(
        digest::span_digest(&first.spans),
        digest::span_digest(&second.spans)
    );
    for env in ["dev", "staging", "production"] {
        let verdict = rollout::deploy_duration_within(&first.spans, env, 120.0);
        assert!(verdict.passed, "{verdict}");
    }
}
