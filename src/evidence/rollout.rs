//! Deploy checks about the rollout itself: how far a canary got before its rollback and what
//! it cost, how long deploys took, whether promotion waited for health, and whether a
//! second deploy to a busy environment was refused. All read `deploy.*` and `request` spans.

use super::deployment::{flag, is, origin, requests, seconds};
use super::Verdict;
use crate::telemetry::SpanRecord;

fn accepted_runs<'a>(spans: &'a [SpanRecord], environment: &str) -> Vec<&'a SpanRecord> {
    spans
        .iter()
        .filter(|s| {
            s.name == "deploy.run"
                && is(s, "deploy.environment", environment)
                && !is(s, "deploy.outcome", "refused")
        })
        .collect()
}

fn percent(span: &SpanRecord) -> i64 {
    match span.attr("deploy.traffic_percent") {
        Some(crate::telemetry::AttrValue::Int(value)) => *value,
        _ => 0,
    }
}

/// The first canary `deploy.run` of `version` in `environment` and the rollback inside it,
/// or what is missing.
fn canary_and_rollback<'a>(
    spans: &'a [SpanRecord],
    environment: &str,
    version: &str,
) -> Result<(&'a SpanRecord, &'a SpanRecord), String> {
    let run = accepted_runs(spans, environment)
        .into_iter()
        .find(|s| is(s, "deploy.version", version) && is(s, "deploy.strategy", "canary"))
        .ok_or_else(|| format!("no canary deploy.run of {version}"))?;
    let rollback = spans
        .iter()
        .filter(|s| s.name == "deploy.rollback" && is(s, "deploy.environment", environment))
        .find(|s| s.start_unix_ns >= run.start_unix_ns && s.start_unix_ns <= run.end_unix_ns)
        .ok_or_else(|| "the canary was never rolled back".to_owned())?;
    Ok((run, rollback))
}

/// Failed requests during `run` against the budget `error_rate_max` of all its requests:
/// (failed, allowed, requests, percent of the budget consumed).
fn error_budget(
    spans: &[SpanRecord],
    environment: &str,
    run: &SpanRecord,
    error_rate_max: f64,
) -> (usize, f64, usize, f64) {
    let during: Vec<&SpanRecord> = requests(spans, Some(environment))
        .filter(|s| s.start_unix_ns >= run.start_unix_ns && s.start_unix_ns <= run.end_unix_ns)
        .collect();
    let failed = during
        .iter()
        .filter(|s| is(s, "request.outcome", "failed"))
        .count();
    let allowed = error_rate_max * during.len() as f64;
    let consumed_percent = if allowed > 0.0 {
        100.0 * failed as f64 / allowed
    } else {
        0.0
    };
    (failed, allowed, during.len(), consumed_percent)
}

/// The canary of `version` in `environment` was rolled back before any step gave it
/// `percent_limit` % of traffic, judged both from its `deploy.batch` steps and from the
/// share of requests it served. The error budget it consumed (failed requests against
/// `error_rate_max` of the requests during the deploy) is reported as observed.
pub fn canary_rolled_back_before(
    spans: &[SpanRecord],
    environment: &str,
    version: &str,
    percent_limit: u8,
    error_rate_max: f64,
) -> Verdict {
    let check = format!(
        "the canary of {version} in {environment} rolled back before {percent_limit} % of traffic"
    );
    let expected = format!(
        "a rollback, with no step and under {percent_limit} % of requests on {version} before it"
    );
    let (run, rollback) = match canary_and_rollback(spans, environment, version) {
        Ok(found) => found,
        Err(missing) => return Verdict::new(check, false, expected, missing, Vec::new()),
    };
    let before_rollback = |s: &&SpanRecord| {
        s.start_unix_ns >= run.start_unix_ns && s.start_unix_ns < rollback.start_unix_ns
    };
    let steps: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.name == "deploy.batch" && is(s, "deploy.environment", environment))
        .filter(|s| is(s, "deploy.version", version))
        .filter(before_rollback)
        .collect();
    let step_max = steps.iter().map(|s| percent(s)).max().unwrap_or(0);
    let before: Vec<&SpanRecord> = requests(spans, Some(environment))
        .filter(before_rollback)
        .collect();
    let on_canary = before
        .iter()
        .filter(|s| is(s, "deploy.version", version))
        .count();
    let share_percent = 100.0 * on_canary as f64 / before.len().max(1) as f64;
    let (failed, allowed, during, consumed_percent) =
        error_budget(spans, environment, run, error_rate_max);
    let start = origin(spans);
    let step_lines = steps.iter().map(|s| {
        let outcome = s.attr_text("deploy.outcome").unwrap_or_default();
        let at = seconds(s.start_unix_ns, start);
        format!("step {} % at {at}: {outcome}", percent(s))
    });
    let reason = rollback.attr_text("deploy.reason").unwrap_or_default();
    let rollback_line = format!(
        "rollback at {}: {reason}",
        seconds(rollback.start_unix_ns, start)
    );
    let limit = f64::from(percent_limit);
    Verdict::new(
        check,
        step_max < i64::from(percent_limit) && share_percent < limit && !before.is_empty(),
        expected,
        format!(
            "rolled back after the {step_max} % step; {share_percent:.1} % of {} requests \
             reached {version}; error budget consumed {consumed_percent:.0} % ({failed} failed \
             of {allowed:.1} allowed over {during} requests)",
            before.len(),
        ),
        step_lines.chain([rollback_line]).collect(),
    )
}

/// Every accepted deploy to `environment` took at most `bound_s` simulated seconds, from the
/// start to the end of its `deploy.run` span; there was at least one.
pub fn deploy_duration_within(spans: &[SpanRecord], environment: &str, bound_s: f64) -> Verdict {
    let runs = accepted_runs(spans, environment);
    let durations_s: Vec<f64> = runs.iter().map(|s| s.duration_ns() as f64 / 1e9).collect();
    let longest_s = durations_s.iter().copied().fold(0.0, f64::max);
    let offenders = runs
        .iter()
        .zip(&durations_s)
        .filter(|(_, &d)| d > bound_s)
        .map(|(s, d)| {
            format!(
                "deploy.run {} of {} took {d:.1} s",
                s.span_id_hex(),
                s.attr_text("deploy.version").unwrap_or_default()
            )
        })
        .collect::<Vec<_>>();
    Verdict::new(
        format!("deploy duration in {environment}, from deploy.run spans"),
        !runs.is_empty() && offenders.is_empty(),
        format!("at most {bound_s} s each, over at least 1 deploy"),
        format!("longest {longest_s:.1} s over {} deploys", runs.len()),
        offenders,
    )
}

/// Promotion from `from` to `to` was blocked while `from` was unhealthy: `from` was seen
/// unhealthy, no deploy to `to` started while `from`'s latest health verdict was unhealthy,
/// and a blocked `deploy.promotion` from `from` to `to` is on record.
pub fn promotion_blocked(spans: &[SpanRecord], from: &str, to: &str) -> Verdict {
    let start = origin(spans);
    let mut verdicts: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| {
            s.name == "deploy.health_check"
                && is(s, "deploy.environment", from)
                && s.attr("deploy.healthy").is_some()
        })
        .collect();
    verdicts.sort_by_key(|s| s.end_unix_ns);
    let unhealthy = verdicts
        .iter()
        .filter(|s| !flag(s, "deploy.healthy"))
        .count();
    let offenders: Vec<String> = accepted_runs(spans, to)
        .into_iter()
        .filter(|run| {
            verdicts
                .iter()
                .take_while(|v| v.end_unix_ns <= run.start_unix_ns)
                .last()
                .is_some_and(|latest| !flag(latest, "deploy.healthy"))
        })
        .map(|run| {
            format!(
                "deploy.run to {to} at {} while {from} was unhealthy",
                seconds(run.start_unix_ns, start)
            )
        })
        .collect();
    let blocked = spans
        .iter()
        .filter(|s| {
            s.name == "deploy.promotion" && is(s, "deploy.from", from) && is(s, "deploy.to", to)
        })
        .filter(|s| is(s, "deploy.outcome", "blocked"))
        .count();
    Verdict::new(
        format!("promotion {from} → {to} blocked while {from} was unhealthy"),
        unhealthy > 0 && offenders.is_empty() && blocked > 0,
        format!("{from} seen unhealthy, a blocked promotion, 0 deploys to {to} while unhealthy"),
        format!(
            "{unhealthy} unhealthy verdicts in {from}; {blocked} blocked promotions; {} deploys to {to} while unhealthy",
            offenders.len()
        ),
        offenders,
    )
}

/// No two accepted deploys to `environment` overlapped in time, at least one request was
/// refused, and every refusal came while another deploy held the environment.
pub fn concurrent_deploys_refused(spans: &[SpanRecord], environment: &str) -> Verdict {
    let start = origin(spans);
    let runs = accepted_runs(spans, environment);
    let refused: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.name == "deploy.run" && is(s, "deploy.environment", environment))
        .filter(|s| is(s, "deploy.outcome", "refused"))
        .collect();
    let mut offenders = Vec::new();
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            if a.start_unix_ns < b.end_unix_ns && b.start_unix_ns < a.end_unix_ns {
                offenders.push(format!(
                    "deploys {} and {} overlap",
                    a.attr_text("deploy.version").unwrap_or_default(),
                    b.attr_text("deploy.version").unwrap_or_default()
                ));
            }
        }
    }
    for refusal in &refused {
        let held = runs.iter().any(|run| {
            run.start_unix_ns <= refusal.start_unix_ns && refusal.start_unix_ns <= run.end_unix_ns
        });
        if !held {
            offenders.push(format!(
                "refusal at {} while no deploy ran",
                seconds(refusal.start_unix_ns, start)
            ));
        }
    }
    Verdict::new(
        format!("concurrent deploys to {environment} refused"),
        !refused.is_empty() && offenders.is_empty(),
        "at least 1 refusal, each during another deploy, and no overlapping deploys",
        format!(
            "{} refused, {} accepted, {} problems",
            refused.len(),
            runs.len(),
            offenders.len()
        ),
        offenders,
    )
}

#[cfg(test)]
mod tests {
    use super::super::deployment::tests::{request, span};
    use super::*;

    fn run(start_s: f64, end_s: f64, version: &str, strategy: &str, outcome: &str) -> SpanRecord {
        span(
            "deploy.run",
            (start_s, end_s),
            &[
                ("deploy.environment", "production"),
                ("deploy.version", version),
                ("deploy.strategy", strategy),
                ("deploy.outcome", outcome),
            ],
        )
    }

    fn step(start_s: f64, percent: &str) -> SpanRecord {
        span(
            "deploy.batch",
            (start_s, start_s + 10.0),
            &[
                ("deploy.environment", "production"),
                ("deploy.version", "v2"),
                ("deploy.traffic_percent", percent),
            ],
        )
    }

    fn canary(steps: &[(f64, &str)], rollback_s: f64, canary_requests: usize) -> Vec<SpanRecord> {
        let mut spans = vec![run(0.0, 60.0, "v2", "canary", "rolled_back")];
        spans.extend(steps.iter().map(|(at, p)| step(*at, p)));
        spans.push(span(
            "deploy.rollback",
            (rollback_s, rollback_s + 5.0),
            &[("deploy.environment", "production")],
        ));
        for i in 0..100 {
            let on_canary = i < canary_requests;
            let (version, outcome) = if on_canary {
                ("v2", "failed")
            } else {
                ("v1", "ok")
            };
            spans.push(request(
                1.0 + f64::from(i as u32) * 0.1,
                "p-00",
                version,
                outcome,
            ));
        }
        spans
    }

    // Proves a canary stopped at 5 % passes and reports its error budget, while one that
    // reached the 25 % step, one that served too large a share, or one never rolled back fails.
    #[test]
    fn canary_must_stop_before_the_limit() {
        let good = canary(&[(1.0, "5")], 12.0, 4);
        let verdict = canary_rolled_back_before(&good, "production", "v2", 25, 0.01);
        assert!(verdict.passed, "{verdict}");
        assert!(
            verdict.observed.contains("error budget consumed 400 %"),
            "{verdict}"
        );
        let too_far = canary(&[(1.0, "5"), (11.0, "25")], 22.0, 4);
        assert!(!canary_rolled_back_before(&too_far, "production", "v2", 25, 0.01).passed);
        let heavy = canary(&[(1.0, "5")], 12.0, 30);
        assert!(!canary_rolled_back_before(&heavy, "production", "v2", 25, 0.01).passed);
        let kept: Vec<SpanRecord> = good
            .into_iter()
            .filter(|s| s.name != "deploy.rollback")
            .collect();
        assert!(!canary_rolled_back_before(&kept, "production", "v2", 25, 0.01).passed);
    }

    // Proves deploy durations pass under the bound and fail over it or with no deploy; a
    // refused deploy does not count as one.
    #[test]
    fn duration_is_bounded() {
        let spans = vec![
            run(0.0, 56.0, "v2", "rolling", "succeeded"),
            run(10.0, 10.0, "v3", "rolling", "refused"),
        ];
        assert!(deploy_duration_within(&spans, "production", 60.0).passed);
        let verdict = deploy_duration_within(&spans, "production", 50.0);
        assert!(!verdict.passed && verdict.evidence.len() == 1, "{verdict}");
        assert!(!deploy_duration_within(&spans[1..], "production", 60.0).passed);
    }

    fn health(at_s: f64, env: &str, healthy: &str) -> SpanRecord {
        span(
            "deploy.health_check",
            (at_s - 10.0, at_s),
            &[("deploy.environment", env), ("deploy.healthy", healthy)],
        )
    }

    fn promotion(outcome: &str) -> SpanRecord {
        span(
            "deploy.promotion",
            (20.0, 30.0),
            &[
                ("deploy.from", "staging"),
                ("deploy.to", "production"),
                ("deploy.outcome", outcome),
            ],
        )
    }

    // Proves a blocked promotion passes, and a production deploy after an unhealthy staging
    // verdict, a staging never seen unhealthy, or no blocked promotion fails.
    #[test]
    fn promotion_waits_for_health() {
        let good = vec![health(30.0, "staging", "false"), promotion("blocked")];
        assert!(promotion_blocked(&good, "staging", "production").passed);
        let mut pushed = vec![health(30.0, "staging", "false"), promotion("promoted")];
        pushed.push(run(31.0, 80.0, "v2", "rolling", "succeeded"));
        let verdict = promotion_blocked(&pushed, "staging", "production");
        assert!(!verdict.passed && verdict.evidence.len() == 1, "{verdict}");
        let healthy = vec![health(30.0, "staging", "true"), promotion("blocked")];
        assert!(!promotion_blocked(&healthy, "staging", "production").passed);
        assert!(!promotion_blocked(&good[..1], "staging", "production").passed);
    }

    // Proves a refusal during a running deploy passes, and overlapping accepted deploys, a
    // refusal while nothing ran, or no refusal at all fails.
    #[test]
    fn concurrent_deploys_are_refused() {
        let good = vec![
            run(0.0, 60.0, "v2", "rolling", "succeeded"),
            run(10.0, 10.0, "v3", "rolling", "refused"),
        ];
        assert!(concurrent_deploys_refused(&good, "production").passed);
        let mut overlap = good.clone();
        overlap.push(run(30.0, 90.0, "v4", "rolling", "succeeded"));
        let verdict = concurrent_deploys_refused(&overlap, "production");
        assert!(
            !verdict.passed && verdict.evidence[0].contains("overlap"),
            "{verdict}"
        );
        let idle = vec![
            run(0.0, 60.0, "v2", "rolling", "succeeded"),
            run(70.0, 70.0, "v3", "rolling", "refused"),
        ];
        assert!(!concurrent_deploys_refused(&idle, "production").passed);
        assert!(!concurrent_deploys_refused(&good[..1], "production").passed);
    }
}
