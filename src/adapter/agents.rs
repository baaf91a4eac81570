//! The agents of an adapter run, one thread each, in one of two workloads.
//!
//! *Submitted items* (the config has `[submit]` or lists its items): each agent walks the
//! items in its own seeded order: claim; on success report each progress step and complete;
//! on a refusal move on. Like an agent reading a board, it skips items the adapter saw
//! acknowledged as claimed or completed to anyone (an item whose holder was refused goes
//! back on the board), and it never tries an item twice, so a run makes at most
//! `agents × items` claims; in practice about one per item plus the races.
//!
//! *Claims create items* (`[claim] creates_item`): the run's items are pieces of work. An
//! agent takes the next piece, claims (the system makes a new item and names it in stdout),
//! then reports progress and completes that item. A piece whose claim was refused is not
//! tried again by anyone: it is abandoned work, which the checker reports.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use opentelemetry::KeyValue;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::call::Outcome;
use super::perform::{Shared, Subject};
use super::Operation;
use crate::telemetry::{AgentRecorder, OpKind};

/// An item on the adapter's board: nobody is known to hold it.
pub(super) const BOARD_OPEN: u8 = 0;
/// An item on the adapter's board: a claim of it was acknowledged.
const BOARD_TAKEN: u8 = 1;
/// An item on the adapter's board: its completion was acknowledged.
const BOARD_DONE: u8 = 2;

/// The random source of agent `index`: its item order, its backoffs, its injected faults.
pub(super) fn agent_rng(seed: u64, index: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed.wrapping_add(index as u64))
}

/// The `agent.session` span every call of `agent` is a child of.
fn session(shared: &Shared<'_>, agent: &str) -> AgentRecorder {
    shared.recorder(
        "agent.session",
        vec![KeyValue::new("agent.id", agent.to_owned())],
    )
}

/// Reports each progress step, then completes `item`, which `agent` was acknowledged to
/// hold; returns whether the completion was acknowledged. Stops at the first refusal.
fn finish(
    shared: &Shared<'_>,
    agent: &str,
    item: &str,
    recorder: &mut AgentRecorder,
    rng: &mut ChaCha8Rng,
    operations: &mut Vec<Operation>,
) -> bool {
    let config = shared.config;
    let held = Subject {
        kind: OpKind::Complete,
        agent: Some(agent),
        item: Some(item),
        progress: None,
    };
    let steps = config.progress.iter().flat_map(|op| {
        config.progress_steps.iter().map(move |&percent| {
            let subject = Subject {
                kind: OpKind::Progress,
                progress: Some(percent),
                ..held
            };
            (op, subject)
        })
    });
    for (op, subject) in steps.chain([(&config.complete, held)]) {
        let result = shared.perform(op, subject, recorder, rng, operations);
        if result.outcome != Outcome::Ok {
            return false;
        }
    }
    true
}

/// One agent's walk over submitted items; returns its operations.
pub(super) fn walk_items(
    shared: &Shared<'_>,
    (index, agent): (usize, &str),
    items: &[String],
    board: &[AtomicU8],
) -> Vec<Operation> {
    let mut rng = agent_rng(shared.plan.seed, index);
    let mut order: Vec<usize> = (0..items.len()).collect();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
    let mut recorder = session(shared, agent);
    let mut operations = Vec::new();
    for index in order {
        if board[index].load(Ordering::Acquire) != BOARD_OPEN {
            continue;
        }
        let item = items[index].as_str();
        let claim = Subject {
            kind: OpKind::Claim,
            agent: Some(agent),
            item: Some(item),
            progress: None,
        };
        let claimed = shared.perform(
            &shared.config.claim,
            claim,
            &mut recorder,
            &mut rng,
            &mut operations,
        );
        if claimed.outcome != Outcome::Ok {
            continue;
        }
        board[index].store(BOARD_TAKEN, Ordering::Release);
        let done = finish(
            shared,
            agent,
            item,
            &mut recorder,
            &mut rng,
            &mut operations,
        );
        // A refused holder: as far as anyone can tell, the item is free again.
        let mark = if done { BOARD_DONE } else { BOARD_OPEN };
        board[index].store(mark, Ordering::Release);
    }
    recorder.close(shared.now_ns());
    operations
}

/// One agent taking pieces of work from `next` until `pieces` have been handed out, each by
/// a claim that creates its item; returns its operations.
pub(super) fn create_and_finish(
    shared: &Shared<'_>,
    (index, agent): (usize, &str),
    pieces: usize,
    next: &AtomicUsize,
) -> Vec<Operation> {
    let mut rng = agent_rng(shared.plan.seed, index);
    let mut recorder = session(shared, agent);
    let mut operations = Vec::new();
    while next.fetch_add(1, Ordering::AcqRel) < pieces {
        let claim = Subject {
            kind: OpKind::Claim,
            agent: Some(agent),
            item: None,
            progress: None,
        };
        let claimed = shared.perform(
            &shared.config.claim,
            claim,
            &mut recorder,
            &mut rng,
            &mut operations,
        );
        let created = operations.last().and_then(|op| op.item.clone());
        if let (Outcome::Ok, Some(item)) = (claimed.outcome, created) {
            finish(
                shared,
                agent,
                &item,
                &mut recorder,
                &mut rng,
                &mut operations,
            );
        }
    }
    recorder.close(shared.now_ns());
    operations
}
