use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::*;

fn board(names: &[&str]) -> JoinBoard {
    let shape = RunShape {
        agents: 10,
        teams: 1,
        seed: 7,
        trace_salt: 7,
        deadline_s: 60,
        lease_ms: 5_000,
        store: "file:/tmp/x".into(),
        schema: None,
    };
    JoinBoard::new(shape, names.iter().map(|n| (*n).to_owned()).collect())
}

fn asking(name: Option<&str>) -> JoinRequest {
    JoinRequest {
        name: name.map(str::to_owned),
        protocol: PROTOCOL_VERSION,
        host: "here".into(),
    }
}

fn export_from(seed: Option<i64>, spans: usize) -> ExportTraceServiceRequest {
    let attributes = seed
        .map(|seed| KeyValue {
            key: SEED_KEY.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(seed)),
            }),
            ..KeyValue::default()
        })
        .into_iter()
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes,
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span::default(); spans],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

// Proves names are honoured, refused when unknown or taken, and handed out in order when
// a worker asks for none; and that the agents split adds up to the run's.
#[test]
fn workers_join_by_name_or_take_the_next_free_one() {
    let now = Instant::now();
    let mut board = board(&["a", "b", "c"]);
    let b = board.join(&asking(Some("b")), now).expect("b joins");
    assert_eq!((b.name.as_str(), b.index), ("b", 1));
    assert!(board.join(&asking(Some("b")), now).is_err(), "b twice");
    assert!(board.join(&asking(Some("z")), now).is_err(), "z unknown");
    let first = board.join(&asking(None), now).expect("a free name");
    let last = board.join(&asking(None), now).expect("another");
    assert_eq!((first.name.as_str(), last.name.as_str()), ("a", "c"));
    assert!(board.join(&asking(None), now).is_err(), "all taken");
    assert_eq!(first.agents + b.agents + last.agents, 10);
    assert_ne!(first.seed, b.seed);
}

// Proves a worker of another protocol, or one arriving after the start, is refused.
#[test]
fn late_or_foreign_workers_are_refused() {
    let now = Instant::now();
    let mut board = board(&["a", "b"]);
    let mut foreign = asking(None);
    foreign.protocol = PROTOCOL_VERSION + 1;
    assert!(board.join(&foreign, now).is_err());
    board.join(&asking(None), now).expect("a joins");
    board.start();
    let refusal = board.join(&asking(None), now).expect_err("too late");
    assert!(refusal.1.contains("started"), "{refusal:?}");
}

// Proves a joined worker that stops beating is taken for silent (dead), one that says it is
// done is done, one never seen never joined; and that the board settles only then.
#[test]
fn silence_past_the_limit_is_death() {
    let start = Instant::now();
    let mut board = board(&["a", "b", "c"]);
    board.join(&asking(Some("a")), start).expect("a");
    board.join(&asking(Some("b")), start).expect("b");
    board.start();
    let later = start + Duration::from_millis(SILENCE_MAX_MS / 2);
    assert!(board.beat("a", later).expect("a beats").start);
    assert!(!board.settled(later));
    let done = Done {
        name: "a".into(),
        ok: true,
        problem: None,
        spans_ended: 0,
        spans_sent: 0,
    };
    board.done(done, later).expect("a done");
    let end = start + Duration::from_millis(SILENCE_MAX_MS + 1);
    assert!(board.settled(end));
    let states: Vec<WorkerState> = board.summaries(end).into_iter().map(|s| s.state).collect();
    assert!(matches!(states[0], WorkerState::Done(_)), "{states:?}");
    assert!(matches!(states[1], WorkerState::Silent(_)), "{states:?}");
    assert_eq!(states[2], WorkerState::NeverJoined);
    assert!(board.beat("c", end).is_err(), "c never joined");
}

// Proves spans are credited by their resource's seed, and a resource of no joined worker
// is refused whole rather than mixed into the evidence.
#[test]
fn spans_are_credited_by_seed_and_strangers_refused() {
    let now = Instant::now();
    let mut board = board(&["a", "b"]);
    let b = board.join(&asking(Some("b")), now).expect("b");
    assert_eq!(board.absorb(export_from(Some(b.seed as i64), 3)), Ok(3));
    assert!(board.absorb(export_from(Some(12345), 2)).is_err());
    assert!(board.absorb(export_from(None, 2)).is_err());
    // a's seed, but a has not joined.
    let a_seed = worker_seed(7, 0) as i64;
    assert!(board.absorb(export_from(Some(a_seed), 1)).is_err());
    let summaries = board.summaries(now);
    assert_eq!(summaries[1].spans_received, 3);
    assert_eq!(board.take_spans().len(), 3);
    assert_eq!(board.problems().len(), 3);
}
