//! The lease reaper: periodically asks the coordinator to reopen items whose holders went
//! silent, records a `lease.reap` span for each, and puts them back on the board.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use opentelemetry::KeyValue;
use tokio::sync::watch;

use super::config::Mode;
use super::shared::Shared;
use crate::telemetry::recorder::OpResult;
use crate::telemetry::{AgentRecorder, OpKind};

/// Reaps until told to stop (or the deadline), every half lease.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let identity = vec![KeyValue::new("swarm.component", "reaper")];
    let start_ns = shared.clock.now_ns();
    let mut recorder = AgentRecorder::open_under(
        Arc::clone(&shared.capture),
        shared.time_base,
        "reaper.session",
        identity,
        start_ns,
        shared.run_span,
    );
    let interval_ns = (shared.config.lease_duration.as_nanos() as u64 / 2).max(1);
    loop {
        let wake_ns = shared.clock.now_ns() + interval_ns;
        tokio::select! {
            // Biased: a fixed polling order keeps deterministic runs deterministic.
            biased;
            _ = stop.changed() => break,
            _ = shared.clock.sleep_until(wake_ns) => {}
        }
        let now = shared.clock.now_ns();
        if now >= shared.deadline_ns || shared.remaining.load(Ordering::Acquire) == 0 {
            break;
        }
        let reaped = match shared.coordinator.reap_expired(now) {
            Ok(reaped) => reaped,
            Err(error) => {
                let description = error.to_string();
                recorder.op(
                    OpKind::Reap,
                    now,
                    now,
                    Vec::new(),
                    OpResult::Failed(&description),
                );
                continue;
            }
        };
        // A reap lands somewhere inside the call; its span ends when the call returned, so
        // a check can tell a write made after the reap from one that raced it. (On virtual
        // time the clock has not moved.)
        let reaped_by_ns = shared.clock.now_ns();
        for lapsed in reaped {
            let attrs = vec![
                KeyValue::new("work.item_id", lapsed.item.to_string()),
                KeyValue::new("work.stage", lapsed.stage as i64),
                KeyValue::new("work.previous_holder", lapsed.previous_holder.to_string()),
                KeyValue::new("work.outcome", "reaped"),
            ];
            recorder.item_op_since(
                shared.item_root(lapsed.item),
                OpKind::Reap,
                now,
                now,
                reaped_by_ns,
                attrs,
                OpResult::Served,
            );
            if let Ok(view) = shared.coordinator.peek(lapsed.item) {
                shared
                    .boards
                    .board(view.team, lapsed.stage)
                    .push(lapsed.item);
            }
        }
        if shared.config.mode == Mode::Throughput {
            tokio::task::yield_now().await;
        }
    }
    recorder.close(shared.clock.now_ns());
}
