use super::*;
use crate::telemetry::SpanStatus;
use serde_json::json;

fn span(name: &str, attributes: &[(&str, &str)]) -> SpanRecord {
    SpanRecord {
        trace_id: 1,
        span_id: 2,
        parent_span_id: None,
        name: name.into(),
        start_unix_ns: 0,
        end_unix_ns: 1,
        status: SpanStatus::Unset,
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).into(), AttrValue::Str((*v).to_owned())))
            .collect(),
    }
}

// Proves a name maps by suffix after `.` or `_` only when exactly one known name fits, and
// that a known name or a bare overlap without a separator is left alone.
#[test]
fn suffix_guesses() {
    assert_eq!(
        guess_suffix("s2s.work.claim", SPAN_NAMES),
        Guess::One("work.claim")
    );
    assert_eq!(
        guess_suffix("s2s.work_item_id", ATTRIBUTE_KEYS),
        Guess::One("work.item_id")
    );
    assert_eq!(
        guess_suffix("s2s_agent_id", ATTRIBUTE_KEYS),
        Guess::One("agent.id")
    );
    assert_eq!(guess_suffix("work.claim", SPAN_NAMES), Guess::None);
    assert_eq!(guess_suffix("rework.claim", SPAN_NAMES), Guess::None);
    assert_eq!(guess_suffix("s2s.claim", SPAN_NAMES), Guess::None);
    assert_eq!(
        guess_suffix("x.a.b", &["a.b", "b"]),
        Guess::Ambiguous(vec!["a.b", "b"])
    );
}

// Proves explicit entries win over guesses, every application is counted with how it came,
// outcomes are mapped, and with guessing off only explicit entries apply.
#[test]
fn explicit_wins_and_everything_is_reported() {
    let mut mapping = Mapping::guessing();
    mapping
        .span_names
        .insert("s2s.work.claim".into(), "work.complete".into());
    mapping.outcomes.insert("won".into(), "claimed".into());
    let mut spans = vec![
        span(
            "s2s.work.claim",
            &[("s2s.work_item_id", "w1"), ("s2s.work_outcome", "won")],
        ),
        span("s2s.work.release", &[]),
    ];
    let mut tally = Tally::default();
    mapping.apply(&mut spans, &mut tally);
    assert_eq!(spans[0].name, "work.complete");
    assert_eq!(spans[1].name, "work.release");
    assert_eq!(spans[0].attr_text("work.item_id").as_deref(), Some("w1"));
    assert_eq!(
        spans[0].attr_text("work.outcome").as_deref(),
        Some("claimed")
    );
    let report = tally.report(&mapping);
    let lines: Vec<String> = report.applied.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .contains(&"mapped s2s.work.claim → work.complete by the mapping file (1 span)".into()),
        "{lines:?}"
    );
    assert!(
        lines.contains(
            &"mapped attribute s2s.work_item_id → work.item_id by suffix (1 span)".into()
        ),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("mapped outcome won → claimed")),
        "{lines:?}"
    );

    let mut spans = vec![span("s2s.work.release", &[("s2s.agent_id", "a")])];
    let mut tally = Tally::default();
    Mapping::none().apply(&mut spans, &mut tally);
    assert_eq!(spans[0].name, "s2s.work.release");
    assert!(tally.report(&Mapping::none()).applied.is_empty());
}

// Proves status texts and OTLP-style objects map to what the reader takes, keeping the
// message, and that nothing is guessed with guessing off.
#[test]
fn statuses_normalised() {
    let guessing = Mapping::guessing();
    let mut tally = Tally::default();
    for (status, expected) in [
        (json!("success"), "ok"),
        (json!("FAILED"), "error"),
        (json!({"code": 2, "message": "lost"}), "error"),
        (json!({"code": "ok"}), "ok"),
        (json!(1), "ok"),
    ] {
        let mut object = json!({"status": status})
            .as_object()
            .cloned()
            .unwrap_or_default();
        guessing.normalise_status(&mut object, &mut tally);
        assert_eq!(object["status"], json!(expected), "{status}");
    }
    let mut object = json!({"status": {"code": 2, "message": "lost"}})
        .as_object()
        .cloned()
        .unwrap_or_default();
    guessing.normalise_status(&mut object, &mut tally);
    assert_eq!(object["status_message"], json!("lost"));

    let mut object = json!({"status": "success"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    Mapping::none().normalise_status(&mut object, &mut tally);
    assert_eq!(object["status"], json!("success"));
    assert_eq!(Mapping::none().status_of(&json!({"code": 2})), None);
    let mut explicit = Mapping::none();
    explicit.status.insert("2".into(), StatusClass::Error);
    assert_eq!(
        explicit
            .status_of(&json!({"code": 2}))
            .map(|(class, _, how)| (class, how)),
        Some((StatusClass::Error, How::MappingFile))
    );
}

// Proves error statuses are found in skipped fragments at any depth, in each spelling, and
// that ok statuses and deep garbage are not.
#[test]
fn error_statuses_found_in_fragments() {
    let mapping = Mapping::guessing();
    assert!(mapping.carries_error_status(&json!({"status": "error"})));
    assert!(mapping.carries_error_status(&json!({"status": "failed"})));
    assert!(mapping.carries_error_status(&json!([{"x": {"status": {"code": 2}}}])));
    assert!(Mapping::none().carries_error_status(&json!({"status": {"code": "STATUS_CODE_ERROR"}})));
    assert!(!Mapping::none().carries_error_status(&json!({"status": "failed"})));
    assert!(!mapping.carries_error_status(&json!({"status": "ok"})));
    let mut deep = json!({"status": "error"});
    for _ in 0..100 {
        deep = json!({ "inner": deep });
    }
    assert!(!mapping.carries_error_status(&deep));
}
