//! Deploy checks about what clients saw: failed requests, traffic to instances that were not
//! ready, and whether a rollback really put the old version back on every instance.
//!
//! Readiness is rebuilt from `deploy.health_check` spans with `deploy.check = readiness`:
//! each says an instance became ready (with a version) or stopped being ready. A request is
//! judged against the last such record of its instance at the time it started.

use std::collections::{BTreeMap, BTreeSet};

use super::Verdict;
use crate::telemetry::{AttrValue, SpanRecord};

/// One readiness change of one instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Readiness {
    pub at_unix_ns: u64,
    pub ready: bool,
    pub version: String,
    pub reason: String,
}

fn text(span: &SpanRecord, key: &str) -> String {
    span.attr_text(key).unwrap_or_else(|| "-".into())
}

pub(crate) fn is(span: &SpanRecord, key: &str, value: &str) -> bool {
    span.attr(key)
        .is_some_and(|actual| actual.matches_text(value))
}

pub(crate) fn flag(span: &SpanRecord, key: &str) -> bool {
    span.attr(key) == Some(&AttrValue::Bool(true))
}

/// Seconds since `origin`, for evidence lines a person can place on the deploy's timeline.
pub(crate) fn seconds(at_unix_ns: u64, origin_unix_ns: u64) -> String {
    format!(
        "{:.3} s",
        at_unix_ns.saturating_sub(origin_unix_ns) as f64 / 1e9
    )
}

pub(crate) fn origin(spans: &[SpanRecord]) -> u64 {
    spans.iter().map(|s| s.start_unix_ns).min().unwrap_or(0)
}

pub(crate) fn requests<'a>(
    spans: &'a [SpanRecord],
    environment: Option<&'a str>,
) -> impl Iterator<Item = &'a SpanRecord> + 'a {
    spans.iter().filter(move |s| {
        s.name == "request" && environment.is_none_or(|env| is(s, "deploy.environment", env))
    })
}

fn describe_request(span: &SpanRecord, origin_unix_ns: u64) -> String {
    format!(
        "request {} at {} instance={} version={} outcome={}",
        span.span_id_hex(),
        seconds(span.start_unix_ns, origin_unix_ns),
        text(span, "deploy.instance"),
        text(span, "deploy.version"),
        text(span, "request.outcome"),
    )
}

/// Readiness records per (environment, instance), in time order.
pub(crate) fn readiness(spans: &[SpanRecord]) -> BTreeMap<(String, String), Vec<Readiness>> {
    let mut records: BTreeMap<(String, String), Vec<Readiness>> = BTreeMap::new();
    for span in spans
        .iter()
        .filter(|s| s.name == "deploy.health_check" && is(s, "deploy.check", "readiness"))
    {
        let key = (
            text(span, "deploy.environment"),
            text(span, "deploy.instance"),
        );
        records.entry(key).or_default().push(Readiness {
            at_unix_ns: span.end_unix_ns,
            ready: flag(span, "deploy.ready"),
            version: text(span, "deploy.version"),
            reason: text(span, "deploy.reason"),
        });
    }
    for list in records.values_mut() {
        // Stable: records at the same instant keep the order they were written in.
        list.sort_by_key(|record| record.at_unix_ns);
    }
    records
}

/// At most `failed_max` requests (in `environment`, or anywhere) failed, among at least one.
pub fn failed_requests_at_most(
    spans: &[SpanRecord],
    environment: Option<&str>,
    failed_max: u64,
) -> Verdict {
    let start = origin(spans);
    let all: Vec<&SpanRecord> = requests(spans, environment).collect();
    let failed: Vec<&SpanRecord> = all
        .iter()
        .copied()
        .filter(|s| is(s, "request.outcome", "failed"))
        .collect();
    let place = environment.map_or(String::new(), |env| format!(" in {env}"));
    Verdict::new(
        format!("failed requests{place}, counted from \"request\" spans"),
        !all.is_empty() && failed.len() as u64 <= failed_max,
        format!("at most {failed_max} failed, among at least 1 request"),
        format!("{} failed of {} requests", failed.len(), all.len()),
        failed.iter().map(|s| describe_request(s, start)).collect(),
    )
}

/// No request was served by an instance that was not ready when the request started, or by
/// a version other than the one its readiness probe passed with.
pub fn no_traffic_to_unready(spans: &[SpanRecord]) -> Verdict {
    let start = origin(spans);
    let records = readiness(spans);
    let mut judged = 0;
    let mut offenders = Vec::new();
    for request in requests(spans, None) {
        let instance = text(request, "deploy.instance");
        if instance == "none" {
            continue;
        }
        judged += 1;
        let key = (text(request, "deploy.environment"), instance);
        let last = records.get(&key).and_then(|list| {
            list.iter()
                .take_while(|r| r.at_unix_ns <= request.start_unix_ns)
                .last()
        });
        let served_by = text(request, "deploy.version");
        let problem = match last {
            None => Some("no readiness record before it".to_owned()),
            Some(r) if !r.ready => Some(format!("instance not ready ({})", r.reason)),
            Some(r) if r.version != served_by => Some(format!(
                "instance was ready with {}, not {served_by}",
                r.version
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            offenders.push(format!("{}: {problem}", describe_request(request, start)));
        }
    }
    Verdict::new(
        "no request reached an instance that was not ready",
        judged > 0 && offenders.is_empty(),
        "0 such requests, among at least 1 routed request",
        format!("{} of {judged} routed requests", offenders.len()),
        offenders,
    )
}

/// `version` failed its readiness probes and never served a request: there is at least one
/// failed probe of it, no passed one, and no request span served by it.
pub fn version_never_served(spans: &[SpanRecord], version: &str) -> Verdict {
    let start = origin(spans);
    let records: Vec<Readiness> = readiness(spans)
        .into_values()
        .flatten()
        .filter(|r| r.version == version)
        .collect();
    let probes_failed = records
        .iter()
        .filter(|r| r.reason == "probe_failed")
        .count();
    let probes_passed = records.iter().filter(|r| r.ready).count();
    let served: Vec<String> = requests(spans, None)
        .filter(|s| is(s, "deploy.version", version))
        .map(|s| describe_request(s, start))
        .collect();
    let mut evidence = served.clone();
    if probes_passed > 0 {
        evidence.insert(
            0,
            format!("{probes_passed} readiness probes of {version} passed"),
        );
    }
    Verdict::new(
        format!("{version}, which failed readiness, never received traffic"),
        probes_failed > 0 && probes_passed == 0 && served.is_empty(),
        "at least 1 failed readiness probe, 0 passed, 0 requests served",
        format!(
            "{probes_failed} failed probes, {probes_passed} passed, {} requests served",
            served.len()
        ),
        evidence,
    )
}

/// After the last rollback in `environment`, every one of its `instance_count` instances is
/// ready on `old_version`, none is left down, and every later request was served by it.
pub fn rollback_restored(
    spans: &[SpanRecord],
    environment: &str,
    old_version: &str,
    instance_count: usize,
) -> Verdict {
    let start = origin(spans);
    let rollback_end = spans
        .iter()
        .filter(|s| s.name == "deploy.rollback" && is(s, "deploy.environment", environment))
        .map(|s| s.end_unix_ns)
        .max();
    let mut offenders = Vec::new();
    let mut ready = BTreeSet::new();
    for ((env, instance), list) in readiness(spans) {
        let Some(last) = list.last().filter(|_| env == environment) else {
            continue;
        };
        if last.ready && last.version == old_version {
            ready.insert(instance);
        } else if last.ready {
            offenders.push(format!("{instance} ends ready on {}", last.version));
        } else if last.reason != "decommissioned" {
            offenders.push(format!(
                "{instance} ends not ready ({}) on {}",
                last.reason, last.version
            ));
        }
    }
    let after: Vec<&SpanRecord> = requests(spans, Some(environment))
        .filter(|s| rollback_end.is_some_and(|end| s.start_unix_ns >= end))
        .collect();
    offenders.extend(
        after
            .iter()
            .filter(|s| !is(s, "deploy.version", old_version))
            .map(|s| describe_request(s, start)),
    );
    let observed = match rollback_end {
        None => format!("no deploy.rollback span in {environment}"),
        Some(_) => format!(
            "{} of {instance_count} instances ready on {old_version}; {} problems; {} requests after the rollback",
            ready.len(),
            offenders.len(),
            after.len()
        ),
    };
    Verdict::new(
        format!("the rollback in {environment} restored {old_version} on every instance"),
        rollback_end.is_some()
            && offenders.is_empty()
            && ready.len() == instance_count
            && !after.is_empty(),
        format!(
            "a rollback, then all {instance_count} instances ready on {old_version} and every later request served by it"
        ),
        observed,
        offenders,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::telemetry::SpanStatus;

    /// A span from `start_s` to `end_s` (seconds) with text, number or flag attributes.
    pub(crate) fn span(
        name: &str,
        (start_s, end_s): (f64, f64),
        attrs: &[(&str, &str)],
    ) -> SpanRecord {
        let value = |v: &str| match v {
            "true" => AttrValue::Bool(true),
            "false" => AttrValue::Bool(false),
            other => other
                .parse::<i64>()
                .map_or_else(|_| AttrValue::Str(other.into()), AttrValue::Int),
        };
        SpanRecord {
            trace_id: 1,
            span_id: (start_s * 1e3) as u64 + 1,
            parent_span_id: None,
            name: name.into(),
            start_unix_ns: (start_s * 1e9) as u64,
            end_unix_ns: (end_s * 1e9) as u64,
            status: SpanStatus::Unset,
            attributes: attrs.iter().map(|(k, v)| ((*k).into(), value(v))).collect(),
        }
    }

    pub(crate) fn probe(
        at_s: f64,
        instance: &str,
        version: &str,
        ready: bool,
        reason: &str,
    ) -> SpanRecord {
        let ready = if ready { "true" } else { "false" };
        span(
            "deploy.health_check",
            (at_s, at_s),
            &[
                ("deploy.environment", "production"),
                ("deploy.check", "readiness"),
                ("deploy.instance", instance),
                ("deploy.version", version),
                ("deploy.ready", ready),
                ("deploy.reason", reason),
            ],
        )
    }

    pub(crate) fn request(at_s: f64, instance: &str, version: &str, outcome: &str) -> SpanRecord {
        span(
            "request",
            (at_s, at_s + 0.02),
            &[
                ("deploy.environment", "production"),
                ("deploy.instance", instance),
                ("deploy.version", version),
                ("request.outcome", outcome),
            ],
        )
    }

    // Proves the failed-request count passes on clean traffic and fails, listing the
    // failures, when a request failed; and that no traffic at all is not a pass.
    #[test]
    fn failed_requests_are_counted_from_spans() {
        let clean = vec![
            request(1.0, "p-00", "v1", "ok"),
            request(2.0, "p-00", "v1", "ok"),
        ];
        assert!(failed_requests_at_most(&clean, Some("production"), 0).passed);
        let mut bad = clean.clone();
        bad.push(request(3.0, "none", "none", "failed"));
        let verdict = failed_requests_at_most(&bad, None, 0);
        assert!(!verdict.passed && verdict.evidence.len() == 1, "{verdict}");
        assert!(!failed_requests_at_most(&[], None, 0).passed);
        assert!(!failed_requests_at_most(&clean, Some("dev"), 0).passed);
    }

    // Proves traffic after readiness passes, and traffic to a draining instance or to a
    // version other than the probed one fails, naming the request.
    #[test]
    fn unready_traffic_is_caught() {
        let good = vec![
            probe(0.0, "p-00", "v1", true, "initial"),
            request(1.0, "p-00", "v1", "ok"),
            probe(2.0, "p-00", "v1", false, "draining"),
            probe(6.0, "p-00", "v2", true, "probe_passed"),
            request(7.0, "p-00", "v2", "ok"),
        ];
        assert!(no_traffic_to_unready(&good).passed);
        let mut draining = good.clone();
        draining.push(request(3.0, "p-00", "v1", "failed"));
        let verdict = no_traffic_to_unready(&draining);
        assert!(
            !verdict.passed && verdict.evidence[0].contains("draining"),
            "{verdict}"
        );
        let mut wrong_version = good;
        wrong_version.push(request(8.0, "p-00", "v3", "ok"));
        assert!(!no_traffic_to_unready(&wrong_version).passed);
        assert!(!no_traffic_to_unready(&[request(1.0, "p-01", "v1", "ok")]).passed);
    }

    // Proves a version with failed probes and no traffic passes, and fails once it served a
    // request, once a probe passed, or when there is no probe evidence at all.
    #[test]
    fn never_served_needs_failed_probes_and_no_traffic() {
        let good = vec![
            probe(5.0, "p-00", "v2", false, "probe_failed"),
            request(6.0, "p-01", "v1", "ok"),
        ];
        assert!(version_never_served(&good, "v2").passed);
        let mut served = good.clone();
        served.push(request(7.0, "p-00", "v2", "failed"));
        assert!(!version_never_served(&served, "v2").passed);
        let mut ready = good;
        ready.push(probe(8.0, "p-00", "v2", true, "probe_passed"));
        assert!(!version_never_served(&ready, "v2").passed);
        assert!(!version_never_served(&[request(1.0, "p-00", "v1", "ok")], "v2").passed);
    }

    fn rollback(start_s: f64, end_s: f64) -> SpanRecord {
        span(
            "deploy.rollback",
            (start_s, end_s),
            &[("deploy.environment", "production")],
        )
    }

    // Proves a complete rollback passes, and an instance left on the new version, left
    // down, or serving the new version afterwards makes it fail.
    #[test]
    fn rollback_must_restore_every_instance() {
        let good = vec![
            probe(0.0, "p-00", "v1", true, "initial"),
            probe(0.0, "p-01", "v1", true, "initial"),
            probe(2.0, "p-01", "v1", false, "draining"),
            probe(5.0, "p-01", "v2", true, "probe_passed"),
            rollback(9.0, 14.0),
            probe(10.0, "p-01", "v2", false, "rolling_back"),
            probe(14.0, "p-01", "v1", true, "probe_passed"),
            request(15.0, "p-01", "v1", "ok"),
        ];
        assert!(rollback_restored(&good, "production", "v1", 2).passed);
        assert!(!rollback_restored(&good, "production", "v1", 3).passed);
        let stuck: Vec<SpanRecord> = good[..5].to_vec();
        let verdict = rollback_restored(&stuck, "production", "v1", 2);
        assert!(
            !verdict.passed && verdict.evidence[0].contains("v2"),
            "{verdict}"
        );
        let mut late = good.clone();
        late.push(request(16.0, "p-00", "v2", "ok"));
        assert!(!rollback_restored(&late, "production", "v1", 2).passed);
        let no_rollback: Vec<SpanRecord> = good
            .into_iter()
            .filter(|s| s.name != "deploy.rollback")
            .collect();
        assert!(!rollback_restored(&no_rollback, "production", "v1", 2).passed);
    }
}
