//! Behaviour of the file store through the `Coordinator` trait, on real directories.

use std::sync::{Arc, Barrier};

use super::layout::*;
use super::FileStore;
use crate::coordination::*;
use crate::ids::WorkId;

const LEASE_NS: u64 = 1_000;

fn store(dir: &tempfile::TempDir) -> FileStore {
    FileStore::open(dir.path(), 1_700_000_000_000_000_000, LEASE_NS).expect("open store")
}

fn submit(store: &FileStore, pipeline: &[Role]) -> WorkId {
    let spec = WorkSpec {
        work_type: "feature \"quoted\"\nwith a newline".into(),
        team: TeamId(0),
        pipeline: pipeline.into(),
    };
    store.submit(spec, 0).expect("submit")
}

// Proves that when 8 threads race for the same 5 items, each through its own lock
// descriptor (as separate processes would), every item has exactly one winner.
#[test]
fn claim_race_has_exactly_one_winner_per_item() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(store(&dir));
    let items: Vec<WorkId> = (0..5).map(|_| submit(&store, &[Role::Developer])).collect();
    let threads = 8;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, start, items) = (Arc::clone(&store), Arc::clone(&start), items.clone());
            std::thread::spawn(move || {
                let agent = store
                    .register_agent(Role::Developer, TeamId(0), t as u64)
                    .expect("register");
                start.wait();
                items
                    .iter()
                    .filter(|item| {
                        let outcome = store.claim(agent, **item, 10).expect("claim");
                        matches!(outcome, ClaimOutcome::Claimed { .. })
                    })
                    .count()
            })
        })
        .collect();
    let wins: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(wins, items.len(), "one winner per item, no more, no fewer");
    let claims: Vec<WorkClaim> =
        super::files::read_array(&dir.path().join(WORK_CLAIMS_FILE)).expect("valid JSON");
    assert!(claims
        .iter()
        .all(|c| c.status == STATUS_ACTIVE && c.agent_id.is_some()));
}

// Proves a two-stage item goes claim → progress → complete → handoff → complete, leaving a
// log entry per stage and files any JSON reader accepts, with hostile strings intact.
#[test]
fn lifecycle_is_logged_and_files_stay_valid_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let pm = store.register_agent(Role::Pm, TeamId(0), 0).expect("pm");
    let dev = store
        .register_agent(Role::Developer, TeamId(0), 0)
        .expect("dev");
    let item = submit(&store, &[Role::Pm, Role::Developer]);
    assert_eq!(
        store.claim(dev, item, 1).expect("claim"),
        ClaimOutcome::WrongRole { needed: Role::Pm }
    );
    assert_eq!(
        store.claim(pm, item, 1).expect("claim"),
        ClaimOutcome::Claimed { stage: 0 }
    );
    assert_eq!(
        store.progress(pm, item, 50, 2).expect("progress"),
        Ownership::Held
    );
    assert_eq!(
        store.progress(dev, item, 60, 2).expect("progress"),
        Ownership::LeaseLost
    );
    let done = store.complete(pm, item, 3).expect("complete");
    assert_eq!(
        done,
        CompleteOutcome::Completed {
            stage: 0,
            next: Some(Role::Developer)
        }
    );
    let handed = store.handoff(pm, item, 4).expect("handoff");
    assert_eq!(
        handed,
        HandoffOutcome::HandedOff {
            stage: 1,
            role: Role::Developer
        }
    );
    assert_eq!(
        store.claim(dev, item, 5).expect("claim"),
        ClaimOutcome::Claimed { stage: 1 }
    );
    store.complete(dev, item, 6).expect("complete");
    assert_eq!(store.peek(item).expect("peek").status, ItemStatus::Done);
    for name in [WORK_CLAIMS_FILE, AGENT_STATUS_FILE, COORDINATION_LOG_FILE] {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("file exists");
        serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
    }
    let log: Vec<LogEntry> =
        super::files::read_array(&dir.path().join(COORDINATION_LOG_FILE)).expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].result, STATUS_COMPLETED);
    let claims: Vec<WorkClaim> =
        super::files::read_array(&dir.path().join(WORK_CLAIMS_FILE)).expect("claims");
    assert_eq!(claims[0].work_type, "feature \"quoted\"\nwith a newline");
}

// Proves a silent holder's item is reaped after the lease and another agent can claim it,
// while the old holder's late completion is refused.
#[test]
fn stale_holder_is_reaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let silent = store
        .register_agent(Role::Developer, TeamId(0), 0)
        .expect("a");
    let other = store
        .register_agent(Role::Developer, TeamId(0), 0)
        .expect("b");
    let item = submit(&store, &[Role::Developer]);
    store.claim(silent, item, 10).expect("claim");
    store.heartbeat(other, 1_500).expect("heartbeat");
    assert!(store.reap_expired(500).expect("reap").is_empty());
    let reaped = store.reap_expired(1_600).expect("reap");
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].previous_holder, silent);
    assert_eq!(
        store.complete(silent, item, 1_700).expect("late"),
        CompleteOutcome::LeaseLost
    );
    assert!(matches!(
        store.claim(other, item, 1_800).expect("claim"),
        ClaimOutcome::Claimed { .. }
    ));
}
