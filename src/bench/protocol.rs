//! The process protocol's own cost: claim + complete round trips to a child coordinator,
//! many calls in flight (one per caller thread), beside the in-process engine in the same
//! bench run. Against `swarmspec serve-process` it measures the protocol (pipes, JSON, the
//! client's matching of answers); against the shipped Python coordinator, what a typical
//! external system costs.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::limits::Sample;
use crate::coordination::{ClaimOutcome, Coordinator, Role, TeamId, WorkSpec};
use crate::error::{Error, Result};
use crate::systems::process::{ProcessConfig, ProcessCoordinator};
use crate::telemetry::{LatencyBook, OpKind};

/// Callers with a call in flight at once: enough to keep a child busy while others wait on
/// their answers (pipelining), few enough not to swamp two cores with threads.
pub const CALLERS: usize = 16;

/// Claims and completes `item_count` items of the child `config` starts, from `CALLERS`
/// threads; the rate counts claims, `ops_per_s` every round trip.
pub fn round_trips(config: &Path, item_count: usize) -> Result<Sample> {
    let config = ProcessConfig::load(config)?;
    let child = ProcessCoordinator::start(config, 0, 60_000_000_000)?;
    let pipeline: Arc<[Role]> = vec![Role::Developer].into();
    let items = (0..item_count)
        .map(|_| {
            let spec = WorkSpec {
                work_type: "feature".into(),
                team: TeamId(0),
                pipeline: Arc::clone(&pipeline),
            };
            child.submit(spec, 0)
        })
        .collect::<Result<Vec<_>>>()?;
    let agents = (0..CALLERS)
        .map(|_| child.register_agent(Role::Developer, TeamId(0), 0))
        .collect::<Result<Vec<_>>>()?;
    let cursor = AtomicUsize::new(0);
    let started = Instant::now();
    let books = std::thread::scope(|scope| {
        let handles: Vec<_> = agents
            .iter()
            .map(|&agent| {
                let (child, items, cursor) = (&child, &items, &cursor);
                scope.spawn(move || -> Result<(LatencyBook, usize)> {
                    let mut book = LatencyBook::new();
                    let mut calls = 0;
                    loop {
                        let index = cursor.fetch_add(1, Ordering::Relaxed);
                        let Some(&item) = items.get(index) else { break };
                        let before = Instant::now();
                        let outcome = child.claim(agent, item, 1)?;
                        book.record(OpKind::Claim, before.elapsed().as_nanos() as u64);
                        calls += 1;
                        if matches!(outcome, ClaimOutcome::Claimed { .. }) {
                            child.complete(agent, item, 2)?;
                            calls += 1;
                        }
                    }
                    Ok((book, calls))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| Error::Bench("a protocol caller thread panicked".into()))?
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let elapsed = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let mut merged = LatencyBook::new();
    let mut calls = 0;
    for (book, count) in &books {
        merged.merge(book);
        calls += count;
    }
    let (problems, _) = child.faults();
    if let Some(problem) = problems.first() {
        return Err(Error::Bench(format!("the child misbehaved: {problem}")));
    }
    let claims = merged.summary(OpKind::Claim);
    Ok(Sample {
        rate_per_s: item_count as f64 / elapsed,
        ops_per_s: Some(calls as f64 / elapsed),
        latency_ns_p50: claims.as_ref().map(|s| s.p50_ns),
        latency_ns_p99: claims.as_ref().map(|s| s.p99_ns),
    })
}
