//! The vocabulary kept true against real runs: swarms (clean and faulty) and deploys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::*;
use crate::deployment::{Action, DeploymentPlan};
use crate::evidence::vocabulary::{ATTRIBUTE_KEYS, SPAN_NAMES};
use crate::evidence::Evidence;
use crate::swarm::{Faults, Swarm, SwarmConfig};
use crate::telemetry::{AttrValue, Capture, SpanRecord};

fn run(config: SwarmConfig) -> Vec<SpanRecord> {
    let capture = Arc::new(Capture::new(config.seed));
    Swarm::new(config)
        .run(Arc::clone(&capture))
        .expect("swarm runs");
    Evidence::from_capture(&capture).expect("evidence").spans
}

/// Spans of a pipeline swarm, faulty swarms (crashes, outages, breakers, reaps) and a deploy
/// through every environment.
fn emitted() -> Vec<SpanRecord> {
    let mut config = SwarmConfig::new(6, 12, 5);
    config.pipeline = vec![Role::Architect, Role::Developer];
    let mut spans = run(config);
    for seed in 1..4 {
        let mut config = SwarmConfig::new(12, 24, seed);
        config.faults = Faults::drawn_from(seed, 12, 1);
        config.lease_duration = std::time::Duration::from_millis(30);
        spans.extend(run(config));
    }
    let action = Action::ThroughAll {
        version: "v2".into(),
    };
    spans.extend(
        DeploymentPlan::default()
            .run(&action, 3)
            .expect("deploy")
            .0
            .spans,
    );
    spans
}

fn kind(value: &AttrValue) -> &'static str {
    match value {
        AttrValue::Str(_) => "text",
        AttrValue::Int(_) => "int",
        AttrValue::Float(_) => "float",
        AttrValue::Bool(_) => "bool",
    }
}

// Proves every span swarmspec emitted in these runs is listed with each attribute it
// carried, each attribute with the type it had, and each enumerated value in its set: a new
// span, attribute or outcome makes this fail (printing what to add) until it is listed.
#[test]
fn the_lexicon_covers_every_emitted_span_attribute_and_value() {
    let lexicon = lexicon();
    let spans: BTreeMap<&str, &[&str]> = lexicon
        .spans
        .iter()
        .map(|s| (s.name, s.attributes))
        .collect();
    let attributes: BTreeMap<&str, &AttributeDoc> =
        lexicon.attributes.iter().map(|a| (a.key, a)).collect();
    let mut missing_spans: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut missing_types: BTreeMap<String, &str> = BTreeMap::new();
    let mut wrong = BTreeSet::new();
    for span in emitted() {
        for (key, value) in &span.attributes {
            if !spans
                .get(span.name.as_str())
                .is_some_and(|keys| keys.contains(&&**key))
            {
                missing_spans
                    .entry(span.name.clone())
                    .or_default()
                    .insert(key.to_string());
            }
            match attributes.get(&**key) {
                None => {
                    missing_types.insert(key.to_string(), kind(value));
                }
                Some(doc) if doc.kind != kind(value) => {
                    wrong.insert(format!("{key} is {} here", kind(value)));
                }
                Some(doc) if !doc.values.is_empty() && !doc.values.contains(&value.to_string()) => {
                    wrong.insert(format!("{key} = {value} is not among {:?}", doc.values));
                }
                Some(_) => {}
            }
        }
        if span.attributes.is_empty() && !spans.contains_key(span.name.as_str()) {
            missing_spans.entry(span.name.clone()).or_default();
        }
    }
    assert!(
        missing_spans.is_empty() && missing_types.is_empty() && wrong.is_empty(),
        "spans: {missing_spans:?}\ntypes: {missing_types:?}\nwrong: {wrong:?}"
    );
}

// Proves the lexicon and the guard's lists name the same spans and keys, so the guard and
// the page a spec writer reads cannot disagree.
#[test]
fn the_lexicon_agrees_with_the_guard() {
    let lexicon = lexicon();
    let names: BTreeSet<&str> = lexicon.spans.iter().map(|s| s.name).collect();
    assert_eq!(names, SPAN_NAMES.iter().copied().collect::<BTreeSet<_>>());
    let keys: BTreeSet<&str> = lexicon.attributes.iter().map(|a| a.key).collect();
    let guarded: BTreeSet<&str> = ATTRIBUTE_KEYS.iter().copied().collect();
    assert_eq!(keys, guarded);
    for span in &lexicon.spans {
        for key in span.attributes {
            assert!(keys.contains(key), "{key} on {} has no type", span.name);
        }
    }
}
