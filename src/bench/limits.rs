//! The two measurements below the swarm: the physical limit (a raw compare-and-swap claim
//! per item, nothing else) and the engine alone (claim and complete through the
//! `Coordinator` API, no agents, no runtime, no capture).
//!
//! Both walk the items the way a spread-mode swarm does: one shared cursor hands each
//! thread the next item in submission order, and the thread claims it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crate::coordination::{
    ClaimOutcome, Coordinator, Discipline, MemoryCoordinator, Role, TeamId, WorkSpec,
};
use crate::error::{Error, Result};
use crate::telemetry::{LatencyBook, OpKind};

/// Lease long enough that nothing expires while a benchmark runs, in ns.
const BENCH_LEASE_NS: u64 = 3_600_000_000_000;

/// One timed pass: operations per second and, where measured, latency percentiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Claims (or events) per second.
    pub rate_per_s: f64,
    /// Every coordination operation (claim, progress, complete, handoff, …) per second,
    /// where more than claims were measured.
    pub ops_per_s: Option<f64>,
    /// Median claim latency, ns.
    pub latency_ns_p50: Option<u64>,
    /// 99th percentile claim latency, ns.
    pub latency_ns_p99: Option<u64>,
}

fn rate(count: usize, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Claims `item_count` items, each with one CAS from open (0) to held, on `thread_count`
/// threads sharing one cursor. Unclocked: timing each CAS would cost more than the CAS.
pub fn raw_cas_claims(item_count: usize, thread_count: usize) -> Sample {
    let words: Vec<AtomicU64> = (0..item_count).map(|_| AtomicU64::new(0)).collect();
    let cursor = AtomicUsize::new(0);
    let claimed = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..thread_count {
            let (words, cursor, claimed) = (&words, &cursor, &claimed);
            scope.spawn(move || {
                let holder = thread as u64 + 1;
                let mut mine = 0;
                // Bounded by the item count: the cursor passes each index once.
                loop {
                    let index = cursor.fetch_add(1, Ordering::Relaxed);
                    let Some(word) = words.get(index) else { break };
                    let won = word
                        .compare_exchange(0, holder, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok();
                    mine += usize::from(won);
                }
                claimed.fetch_add(mine, Ordering::Relaxed);
            });
        }
    });
    let sample = Sample {
        rate_per_s: rate(item_count, started),
        ops_per_s: None,
        latency_ns_p50: None,
        latency_ns_p99: None,
    };
    assert_eq!(
        claimed.load(Ordering::Relaxed),
        item_count,
        "every item is claimed exactly once"
    );
    sample
}

/// Claims and completes `item_count` items through `MemoryCoordinator`, one registered
/// agent per thread; each claim is timed into a per-thread histogram merged at the end.
pub fn engine_claims(item_count: usize, thread_count: usize) -> Result<Sample> {
    let engine = MemoryCoordinator::new(0, BENCH_LEASE_NS, Discipline::Correct);
    let pipeline: std::sync::Arc<[Role]> = vec![Role::Developer].into();
    let items = (0..item_count)
        .map(|_| {
            let spec = WorkSpec {
                work_type: "feature".into(),
                team: TeamId(0),
                pipeline: std::sync::Arc::clone(&pipeline),
            };
            engine.submit(spec, 0)
        })
        .collect::<Result<Vec<_>>>()?;
    let agents = (0..thread_count)
        .map(|_| engine.register_agent(Role::Developer, TeamId(0), 0))
        .collect::<Result<Vec<_>>>()?;
    let cursor = AtomicUsize::new(0);
    let started = Instant::now();
    let books = std::thread::scope(|scope| {
        let handles: Vec<_> = agents
            .iter()
            .map(|&agent| {
                let (engine, items, cursor) = (&engine, &items, &cursor);
                scope.spawn(move || -> Result<LatencyBook> {
                    let mut book = LatencyBook::new();
                    loop {
                        let index = cursor.fetch_add(1, Ordering::Relaxed);
                        let Some(&item) = items.get(index) else { break };
                        let before = Instant::now();
                        let outcome = engine.claim(agent, item, 0)?;
                        book.record(OpKind::Claim, before.elapsed().as_nanos() as u64);
                        if matches!(outcome, ClaimOutcome::Claimed { .. }) {
                            engine.complete(agent, item, 0)?;
                        }
                    }
                    Ok(book)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| Error::Bench("an engine thread panicked".into()))?
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let rate_per_s = rate(item_count, started);
    let mut merged = LatencyBook::new();
    for book in &books {
        merged.merge(book);
    }
    let claims = merged.summary(OpKind::Claim);
    Ok(Sample {
        rate_per_s,
        ops_per_s: Some(rate_per_s * 2.0),
        latency_ns_p50: claims.as_ref().map(|s| s.p50_ns),
        latency_ns_p99: claims.as_ref().map(|s| s.p99_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves both limits claim every item (the assertion inside) and report a positive rate.
    #[test]
    fn limits_claim_every_item() {
        assert!(raw_cas_claims(1_000, 2).rate_per_s > 0.0);
        let engine = engine_claims(1_000, 2).unwrap();
        assert!(engine.rate_per_s > 0.0 && engine.latency_ns_p99.is_some());
    }
}
