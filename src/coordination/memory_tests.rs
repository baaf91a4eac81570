//! Unit tests of the reference engine.
use super::*;
use crate::coordination::Mutant;

fn engine(discipline: Discipline) -> MemoryCoordinator {
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
    let engine = engine(Discipline::Correct);
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
    let engine = engine(Discipline::Mutant(Mutant::BlindWrite));
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
    let engine = engine(Discipline::Correct);
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
    let engine = engine(Discipline::Correct);
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

fn mutant(mutant: Mutant) -> MemoryCoordinator {
    engine(Discipline::Mutant(mutant))
}

fn developer(engine: &MemoryCoordinator) -> AgentId {
    engine
        .register_agent(Role::Developer, TeamId(0), 0)
        .expect("register")
}

// Proves the racy claim really races on real threads: two threads claiming the same fresh
// items both win one of them (bounded by `ROUNDS_MAX` rounds of 2 000 items).
#[test]
fn racy_claim_lets_two_threads_win() {
    const ROUNDS_MAX: usize = 50;
    const ITEMS_PER_ROUND: usize = 2_000;
    let engine = mutant(Mutant::RacyClaim);
    let agents = [developer(&engine), developer(&engine)];
    let double_win = (0..ROUNDS_MAX).any(|_| {
        let items: Vec<WorkId> = (0..ITEMS_PER_ROUND)
            .map(|_| item(&engine, &[Role::Developer]))
            .collect();
        let barrier = std::sync::Barrier::new(agents.len());
        let wins: Vec<Vec<bool>> = std::thread::scope(|scope| {
            let handles: Vec<_> = agents
                .iter()
                .map(|&agent| {
                    let (engine, items, barrier) = (&engine, &items, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        items
                            .iter()
                            .map(|&work| {
                                matches!(
                                    engine.claim(agent, work, 1),
                                    Ok(ClaimOutcome::Claimed { .. })
                                )
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("claimer"))
                .collect()
        });
        (0..ITEMS_PER_ROUND).any(|i| wins[0][i] && wins[1][i])
    });
    assert!(double_win, "no item was won twice in {ROUNDS_MAX} rounds");
}

// Proves the correct engine refuses a non-holder's writes and the mutant accepts them.
#[test]
fn non_holder_writes_are_accepted_only_by_the_mutant() {
    for (discipline, accepted) in [
        (Discipline::Correct, false),
        (Discipline::Mutant(Mutant::NonHolderWrites), true),
    ] {
        let engine = engine(discipline);
        let (holder, other) = (developer(&engine), developer(&engine));
        let work = item(&engine, &[Role::Developer]);
        engine.claim(holder, work, 1).unwrap();
        let progress = engine.progress(other, work, 50, 2).unwrap();
        assert_eq!(progress == Ownership::Held, accepted, "{discipline:?}");
        let done = engine.complete(other, work, 3).unwrap();
        assert_eq!(
            done != CompleteOutcome::LeaseLost,
            accepted,
            "{discipline:?}"
        );
    }
}

// Proves one completion in `LOST_COMPLETION_EVERY` is acknowledged yet leaves the item open.
#[test]
fn lost_completion_is_acknowledged_and_reopened() {
    let engine = mutant(Mutant::LostCompletion);
    let agent = developer(&engine);
    let every = mutants::LOST_COMPLETION_EVERY as usize;
    let mut reopened = 0;
    for _ in 0..every * 3 {
        let work = item(&engine, &[Role::Developer]);
        engine.claim(agent, work, 1).unwrap();
        let done = engine.complete(agent, work, 2).unwrap();
        assert!(matches!(done, CompleteOutcome::Completed { .. }));
        reopened += usize::from(engine.peek(work).unwrap().status == ItemStatus::Open);
    }
    assert_eq!(reopened, 3);
}

// Proves the never-reap mutant keeps a silent holder's item and the other reaper mutant
// reopens a completed stage.
#[test]
fn reaper_mutants_keep_and_reopen() {
    let engine = mutant(Mutant::NeverReap);
    let silent = developer(&engine);
    let work = item(&engine, &[Role::Developer]);
    engine.claim(silent, work, 10).unwrap();
    assert!(engine.reap_expired(10_000).unwrap().is_empty());

    let engine = mutant(Mutant::ReapReopensCompleted);
    let silent = developer(&engine);
    let work = item(&engine, &[Role::Developer]);
    engine.claim(silent, work, 10).unwrap();
    engine.complete(silent, work, 20).unwrap();
    assert_eq!(engine.reap_expired(10_000).unwrap().len(), 1);
    assert_eq!(engine.peek(work).unwrap().status, ItemStatus::Open);
}

// Proves the skipping handoff jumps from the first stage to the third.
#[test]
fn handoff_skips_a_stage() {
    let engine = mutant(Mutant::HandoffSkipsStage);
    let pm = engine.register_agent(Role::Pm, TeamId(0), 0).unwrap();
    let work = item(&engine, &[Role::Pm, Role::Architect, Role::Developer]);
    engine.claim(pm, work, 1).unwrap();
    engine.complete(pm, work, 2).unwrap();
    assert_eq!(
        engine.handoff(pm, work, 3).unwrap(),
        HandoffOutcome::HandedOff {
            stage: 2,
            role: Role::Developer
        }
    );
}
