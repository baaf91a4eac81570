//! Generic evidence steps: a spec writer can assert on any span or histogram with these,
//! without writing Rust. Each prints the observed value beside the expected one.

use crate::evidence::vocabulary::{self, Intent};
use crate::evidence::{self, Comparison, SpanFilter, Verdict};
use crate::telemetry::otlp::{receiver, OtlpConfig, OtlpTarget, Receiver};
use crate::telemetry::OpKind;
use crate::telemetry::SpanRecord;
use anyhow::Context as _;
use cucumber::{given, then};

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
fn guarded(
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
