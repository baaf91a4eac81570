//! Generic evidence steps: a spec writer can assert on any span or histogram with these,
//! without writing Rust. Each prints the observed value beside the expected one.

use crate::evidence::attributes::Bound;
use crate::evidence::vocabulary::{self, Intent};
use crate::evidence::{self, Comparison, SpanFilter, Verdict};
use crate::telemetry::otlp::{receiver, OtlpConfig, OtlpTarget, Receiver};
use crate::telemetry::OpKind;
use crate::telemetry::SpanRecord;
use anyhow::Context as _;
use cucumber::{given, then};

use super::parameters::{Attributes, Compare, Percent, Spans};
use super::SwarmWorld;

fn op_kind(name: &str) -> anyhow::Result<OpKind> {
    OpKind::from_span_name(name).ok_or_else(|| {
        let known: Vec<&str> = OpKind::ALL.iter().map(|op| op.span_name()).collect();
        anyhow::anyhow!(
            "no histogram for «{name}»: histograms exist for {}",
            known.join(", ")
        )
    })
}

/// Judges `check` on the evidence, unless the step names a span (or attribute) that no span
/// carries: then it fails as vacuous, listing the names that were recorded.
pub(super) fn guarded(
    world: &mut SwarmWorld,
    names: &[&str],
    key: Option<&str>,
    intent: Intent,
    check: impl FnOnce(&[SpanRecord]) -> Verdict,
) -> anyhow::Result<()> {
    let spans = &world.evidence()?.spans;
    let vacuous = names
        .iter()
        .find_map(|name| vocabulary::guard(spans, name, key, intent));
    let verdict = vacuous.unwrap_or_else(|| check(spans));
    world.judge(verdict)
}

/// Exactly N spans of that name carry that attribute value, for each work item (and stage).
#[then(
    regex = r#"^exactly (\d+) "([^"]+)" spans? ha(?:s|ve) "([^"]+)" = "([^"]*)" for each work item( and stage)?$"#
)]
fn exactly_per_item(
    world: &mut SwarmWorld,
    n: u64,
    name: String,
    key: String,
    value: String,
    and_stage: String,
) -> anyhow::Result<()> {
    let filter = SpanFilter::named(&name).with_attr(&key, &value);
    let keys: &[&str] = if and_stage.is_empty() {
        &["work.item_id"]
    } else {
        &["work.item_id", "work.stage"]
    };
    let intent = if n == 0 {
        Intent::MayBeAbsent
    } else {
        Intent::Present
    };
    guarded(world, &[&name], Some(&key), intent, |spans| {
        evidence::query::exactly_per_key(spans, &filter, keys, n)
    })
}

/// Counts spans of a name (optionally with an attribute value): exactly, at least or at most N.
#[then(
    regex = r#"^(exactly|at least|at most) (\d+) "([^"]+)" spans? (?:were recorded|ha(?:s|ve) "([^"]+)" = "([^"]*)")$"#
)]
fn count_spans(
    world: &mut SwarmWorld,
    how: String,
    n: u64,
    name: String,
    key: String,
    value: String,
) -> anyhow::Result<()> {
    let mut filter = SpanFilter::named(&name);
    if !key.is_empty() {
        filter = filter.with_attr(&key, &value);
    }
    let expected = match how.as_str() {
        "exactly" => Comparison::Exactly(n),
        "at least" => Comparison::AtLeast(n),
        _ => Comparison::AtMost(n),
    };
    let intent = if expected.holds(0) {
        Intent::MayBeAbsent
    } else {
        Intent::Present
    };
    let key = (!key.is_empty()).then_some(key.as_str());
    guarded(world, &[&name], key, intent, |spans| {
        evidence::query::count(spans, &filter, expected)
    })
}

/// No span of that name has status error (and at least one such span was recorded: with
/// none, the step would pass on nothing).
#[then(expr = "no {string} span has status error")]
fn no_errors(world: &mut SwarmWorld, name: String) -> anyhow::Result<()> {
    let filter = SpanFilter::named(&name).with_error(true);
    guarded(world, &[&name], None, Intent::Present, |spans| {
        evidence::query::count(spans, &filter, Comparison::Exactly(0))
    })
}

/// Every span of the first name has a parent span of the second name.
#[then(expr = "every {string} span has a parent {string} span")]
fn has_parent(world: &mut SwarmWorld, child: String, parent: String) -> anyhow::Result<()> {
    guarded(world, &[&child, &parent], None, Intent::Present, |spans| {
        evidence::query::every_child_has_parent(spans, &child, &parent)
    })
}

/// For each work item, the listed spans share one trace.
#[then(expr = "the {string} spans of each work item form one trace")]
fn one_trace(world: &mut SwarmWorld, names: String) -> anyhow::Result<()> {
    let names: Vec<&str> = names.split(',').map(str::trim).collect();
    guarded(
        world,
        &names,
        Some("work.item_id"),
        Intent::Present,
        |spans| evidence::query::one_trace_per_key(spans, &names, "work.item_id"),
    )
}

/// The span names a selection names, for the vacuity guard (`work.*` names none: its check
/// fails on an empty selection by itself).
fn named(filter: &SpanFilter) -> Vec<&str> {
    if filter.name.ends_with('*') {
        Vec::new()
    } else {
        vec![filter.name.as_str()]
    }
}

/// Every selected span carries each listed attribute, e.g. `every claimed work.claim span
/// has attributes agent.id and work.item_id` (fails when no span is selected).
#[then(expr = "every {spans} span has attribute(s) {attributes}")]
fn has_attributes(world: &mut SwarmWorld, spans: Spans, keys: Attributes) -> anyhow::Result<()> {
    let keys: Vec<&str> = keys.0.iter().map(String::as_str).collect();
    let filter = spans.0;
    guarded(world, &named(&filter), None, Intent::Present, |spans| {
        evidence::attributes::every_has_attributes(spans, &filter, &keys)
    })
}

/// A numeric attribute of every selected span is within a bound, e.g. `every work.progress
/// span has work.progress at most 100`; a span without it fails the step.
#[then(expr = "every {spans} span has {word} {comparison} {float}")]
fn attribute_bound(
    world: &mut SwarmWorld,
    spans: Spans,
    key: String,
    how: Compare,
    value: f64,
) -> anyhow::Result<()> {
    let filter = spans.0;
    let bound = how.bound(value);
    guarded(
        world,
        &named(&filter),
        Some(&key),
        Intent::Present,
        |spans| evidence::attributes::every_attribute_within(spans, &filter, &key, bound),
    )
}

/// Counts the selected spans, e.g. `at least 1 conflict work.claim spans were recorded`.
#[then(expr = "{comparison} {int} {spans} span(s) was/were recorded")]
fn count_selected(
    world: &mut SwarmWorld,
    how: Compare,
    n: u64,
    spans: Spans,
) -> anyhow::Result<()> {
    let expected = how.count(n);
    let intent = if expected.holds(0) {
        Intent::MayBeAbsent
    } else {
        Intent::Present
    };
    let filter = spans.0;
    guarded(world, &named(&filter), None, intent, |spans| {
        evidence::query::count(spans, &filter, expected)
    })
}

/// The selected spans per work item, e.g. `exactly 1 claimed work.claim span per work item`:
/// every item any span of that name mentions counts, so an item with none counts as 0.
#[then(expr = "{comparison} {int} {spans} span(s) per work item")]
fn per_item(world: &mut SwarmWorld, how: Compare, n: u64, spans: Spans) -> anyhow::Result<()> {
    let filter = spans.0;
    let expected = how.count(n);
    guarded(
        world,
        &named(&filter),
        Some("work.item_id"),
        Intent::Present,
        |spans| evidence::query::per_key(spans, &filter, &["work.item_id"], expected),
    )
}

/// The selected spans of each work item share one trace, e.g. `the claimed work.claim spans
/// of each work item form one trace`.
#[then(expr = "the {spans} spans of each work item form one trace")]
fn selected_one_trace(world: &mut SwarmWorld, spans: Spans) -> anyhow::Result<()> {
    let filter = spans.0;
    guarded(
        world,
        &named(&filter),
        Some("work.item_id"),
        Intent::Present,
        |spans| {
            let selected: Vec<SpanRecord> = spans
                .iter()
                .filter(|s| filter.matches(s))
                .cloned()
                .collect();
            let names: Vec<&str> = spans
                .iter()
                .filter(|s| filter.name_matches(&s.name))
                .map(|s| s.name.as_str())
                .collect();
            evidence::query::one_trace_per_key(&selected, &names, "work.item_id")
        },
    )
}

/// The share of the selected spans with an outcome, e.g. `the conflict rate of work.claim
/// spans is below 5 %` (`error` counts spans with status error too; no span fails).
#[then(expr = "the {word} rate of {spans} spans is {comparison} {percent}")]
fn outcome_rate(
    world: &mut SwarmWorld,
    outcome: String,
    spans: Spans,
    how: Compare,
    rate: Percent,
) -> anyhow::Result<()> {
    let filter = spans.0;
    let bound = how.bound(rate.0);
    guarded(world, &named(&filter), None, Intent::Present, |spans| {
        evidence::attributes::outcome_rate(spans, &filter, &outcome, bound)
    })
}

/// The same rate per group, e.g. `the claimed rate of work.claim spans is at least 50 % for
/// every role` (`role` and `team` mean the agent's, from its session; any other word is
/// read as an attribute key).
#[then(expr = "the {word} rate of {spans} spans is {comparison} {percent} for every {word}")]
fn outcome_rate_per_group(
    world: &mut SwarmWorld,
    outcome: String,
    spans: Spans,
    how: Compare,
    rate: Percent,
    group: String,
) -> anyhow::Result<()> {
    let filter = spans.0;
    let bound = how.bound(rate.0);
    let key = match group.as_str() {
        "role" => "agent.role".to_owned(),
        "team" => "agent.team".to_owned(),
        other => other.to_owned(),
    };
    guarded(world, &named(&filter), None, Intent::Present, |spans| {
        evidence::attributes::outcome_rate_per_group(spans, &filter, &outcome, bound, &key)
    })
}

/// The share of `work.claim` spans that lost a race (`work.outcome` = `conflict`) is below
/// the bound; no claim at all fails.
#[then(expr = "the conflict rate stays below {percent}")]
fn conflict_rate(world: &mut SwarmWorld, rate: Percent) -> anyhow::Result<()> {
    let filter = SpanFilter::named("work.claim");
    guarded(world, &["work.claim"], None, Intent::Present, |spans| {
        evidence::attributes::outcome_rate(spans, &filter, "conflict", Bound::Below(rate.0))
    })
}

/// The share of coordination calls (every `work.*` span) with status error is below the
/// bound; no call at all fails.
#[then(expr = "the error rate stays below {percent}")]
fn error_rate(world: &mut SwarmWorld, rate: Percent) -> anyhow::Result<()> {
    let filter = SpanFilter::named("work.*");
    guarded(world, &[], None, Intent::Present, |spans| {
        evidence::attributes::outcome_rate(spans, &filter, "error", Bound::Below(rate.0))
    })
}

/// Every time a circuit breaker opened, exactly that many failed calls of its agent came
/// right before (needs `circuit breakers open after …` and failures, e.g. an outage).
#[then(expr = "the breaker opened after exactly {int} failures")]
fn breaker_threshold(world: &mut SwarmWorld, failures: u64) -> anyhow::Result<()> {
    guarded(
        world,
        &["circuit.transition"],
        None,
        Intent::Present,
        |spans| evidence::attributes::breaker_opened_after(spans, failures),
    )
}

/// A latency percentile of an operation, from its HDR histogram, is below a bound.
#[then(regex = r#"^the p(50|90|95|99|99\.9) latency of "([^"]+)" is below ([\d.]+) ms$"#)]
fn percentile_latency(
    world: &mut SwarmWorld,
    percentile: f64,
    name: String,
    bound_ms: f64,
) -> anyhow::Result<()> {
    let op = op_kind(&name)?;
    let verdict =
        evidence::latency::percentile_below(world.evidence()?, op, percentile / 100.0, bound_ms);
    world.judge(verdict)
}

/// A latency percentile of an operation, from its HDR histogram, reaches a floor: a fault
/// that must show in latency does.
#[then(regex = r#"^the p(50|90|95|99|99\.9) latency of "([^"]+)" is at least ([\d.]+) ms$"#)]
fn percentile_latency_at_least(
    world: &mut SwarmWorld,
    percentile: f64,
    name: String,
    floor_ms: f64,
) -> anyhow::Result<()> {
    let op = op_kind(&name)?;
    let verdict =
        evidence::latency::percentile_at_least(world.evidence()?, op, percentile / 100.0, floor_ms);
    world.judge(verdict)
}

/// The mean latency of an operation, from its HDR histogram, is below a bound.
#[then(expr = "the mean latency of {string} is below {float} ms")]
fn mean(world: &mut SwarmWorld, name: String, bound_ms: f64) -> anyhow::Result<()> {
    let op = op_kind(&name)?;
    let verdict = evidence::latency::mean_below(world.evidence()?, op, bound_ms);
    world.judge(verdict)
}

/// Operations per second of the `swarm.run` span, from the histogram count, reach a floor.
#[then(expr = "the throughput of {string} is at least {float} ops\\/s")]
fn throughput(world: &mut SwarmWorld, name: String, floor: f64) -> anyhow::Result<()> {
    let op = op_kind(&name)?;
    let verdict = evidence::latency::throughput_at_least(world.evidence()?, op, floor);
    world.judge(verdict)
}

/// Spans also go over OTLP/HTTP to a receiver started on loopback for this scenario.
#[given("spans are also exported over OTLP to a local receiver")]
fn export_to_receiver(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let receiver = Receiver::start()?;
    world.otlp = Some(OtlpTarget::new(OtlpConfig::new(receiver.endpoint()))?);
    world.receiver = Some(receiver);
    Ok(())
}

/// Spans also go over OTLP/HTTP to a loopback port where nothing listens.
#[given("spans are also exported over OTLP to an endpoint where nothing listens")]
fn export_to_nowhere(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let endpoint = receiver::unused_endpoint()?;
    world.otlp = Some(OtlpTarget::new(OtlpConfig::new(endpoint))?);
    Ok(())
}

/// The receiver holds exactly the spans the capture holds: same ids, names, times,
/// status and attributes, each once.
#[then("the receiver got every span the capture holds")]
fn receiver_got_every_span(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let received = world
        .receiver
        .as_ref()
        .context("no receiver: add `Given spans are also exported over OTLP to a local receiver`")?
        .spans();
    let verdict = evidence::export::received_every_span(&world.evidence()?.spans, &received);
    world.judge(verdict)
}

/// The export sent nothing, counted every span as not sent, and gave the reason.
#[then("the OTLP export reports that no span was sent, and why")]
fn export_failure_reported(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let report = world
        .export
        .as_ref()
        .context("no OTLP export ran: add a `Given spans are also exported over OTLP …` step")?;
    let verdict = evidence::export::failure_reported(report);
    world.judge(verdict)
}
