//! Unit tests of the reference engine.
use super::*;

fn engine(discipline: ClaimDiscipline) -> MemoryCoordinator {
    MemoryCoordinator::new(0, 1_000, discipline)
}

fn item(engine: &MemoryCoordinator, pipeline: &[Role]) -> WorkId {
    let spec = WorkSpec {
        work_type: "feature".into(),
        team: TeamId(0),
        pipeline: pipeline.into(),
    };
    engine.submit(spec, 0).expect("submit")
}

// Proves a second claimant loses and is told who holds the item.
#[test]
fn second_claim_conflicts_and_names_holder() {
    let engine = engine(ClaimDiscipline::CompareAndSwap);
    let a = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let b = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let work = item(&engine, &[Role::Developer]);
    assert_eq!(
        engine.claim(a, work, 1).unwrap(),
        ClaimOutcome::Claimed { stage: 0 }
    );
    assert_eq!(
        engine.claim(b, work, 2).unwrap(),
        ClaimOutcome::Conflict { holder: Some(a) }
    );
}

// Proves the deliberately broken discipline really lets two agents win.
#[test]
fn blind_write_lets_two_win() {
    let engine = engine(ClaimDiscipline::BlindWrite);
    let a = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let b = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let work = item(&engine, &[Role::Developer]);
    assert!(matches!(
        engine.claim(a, work, 1).unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
    assert!(matches!(
        engine.claim(b, work, 2).unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
}

// Proves a silent holder is reaped after its lease and a live one is not.
#[test]
fn stale_claim_is_reaped_and_reclaimable() {
    let engine = engine(ClaimDiscipline::CompareAndSwap);
    let silent = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let other = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let work = item(&engine, &[Role::Developer]);
    engine.claim(silent, work, 10).unwrap();
    assert!(engine.reap_expired(500).unwrap().is_empty());
    let reaped = engine.reap_expired(1_010).unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].previous_holder, silent);
    assert_eq!(
        engine.complete(silent, work, 1_020).unwrap(),
        CompleteOutcome::LeaseLost
    );
    assert!(matches!(
        engine.claim(other, work, 1_030).unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
}

// Proves a handoff moves the item to the next role and only that role may claim it.
#[test]
fn handoff_moves_to_next_role() {
    let engine = engine(ClaimDiscipline::CompareAndSwap);
    let pm = engine.register_agent(Role::Pm, TeamId(0), 0).unwrap();
    let dev = engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .unwrap();
    let work = item(&engine, &[Role::Pm, Role::Developer]);
    assert_eq!(
        engine.claim(dev, work, 1).unwrap(),
        ClaimOutcome::WrongRole { needed: Role::Pm }
    );
    engine.claim(pm, work, 1).unwrap();
    let done = engine.complete(pm, work, 2).unwrap();
    assert_eq!(
        done,
        CompleteOutcome::Completed {
            stage: 0,
            next: Some(Role::Developer)
        }
    );
    let handed = engine.handoff(pm, work, 3).unwrap();
    assert_eq!(
        handed,
        HandoffOutcome::HandedOff {
            stage: 1,
            role: Role::Developer
        }
    );
    assert_eq!(
        engine.claim(dev, work, 4).unwrap(),
        ClaimOutcome::Claimed { stage: 1 }
    );
    assert_eq!(engine.peek(work).unwrap().status, ItemStatus::Claimed);
}
