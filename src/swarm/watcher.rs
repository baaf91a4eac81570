//! The watcher of an attached run: other processes finish items too, so this run cannot
//! count completions itself. It asks the coordinator how many items are unfinished, every
//! `WATCH_INTERVAL`, and publishes the count in `Shared::remaining`, which is what agents
//! and the reaper stop on.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::shared::Shared;
use crate::error::{Error, Result};

/// How often the watcher counts unfinished items (run time: real or simulated).
pub const WATCH_INTERVAL: Duration = Duration::from_millis(10);

/// Counts until nothing is unfinished or the deadline passes.
pub async fn run(shared: Arc<Shared>) -> Result<()> {
    let interval_ns = WATCH_INTERVAL.as_nanos() as u64;
    loop {
        let unfinished = shared.coordinator.unfinished_items()?.ok_or_else(|| {
            Error::InvalidConfig(
                "this coordinator cannot count unfinished items, so a run attached to it \
                 cannot tell when the work is done"
                    .into(),
            )
        })?;
        shared.remaining.store(unfinished, Ordering::Release);
        let now = shared.clock.now_ns();
        if unfinished == 0 || now >= shared.deadline_ns {
            return Ok(());
        }
        shared.clock.sleep_until(now + interval_ns).await;
    }
}
