//! The swarm's clock: nanoseconds since the run began.
//!
//! In deterministic mode it is the discrete-event executor's virtual time (`sim`), which
//! only moves when every task waits, so time is reproducible; in throughput mode the same
//! calls read the real clock and sleep on tokio's timers.

use std::time::Duration;

use tokio::time::Instant;

use super::sim;
use super::tsc::{self, TscRate};

/// Run-relative time.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    start: Instant,
    /// The same start on the standard clock, read on the real clock where the time-stamp
    /// counter is not usable (tokio's `Instant` adds nothing here: no clock is paused).
    start_std: Option<std::time::Instant>,
    /// The same start on the time-stamp counter, with its rate, where it is a usable clock
    /// (real clock only): cheaper again to read than the standard clock (see `tsc`).
    start_ticks: Option<(TscRate, u64)>,
    /// Virtual time: the executor's clock, not tokio's.
    simulated: bool,
}

impl RunClock {
    /// Starts counting now on the real clock (must be called inside the run's runtime).
    pub fn real() -> Self {
        let rate = TscRate::get();
        let start = Instant::now();
        Self {
            start,
            start_std: Some(start.into_std()),
            start_ticks: rate.map(|rate| (rate, tsc::ticks())),
            simulated: false,
        }
    }

    /// The discrete-event executor's virtual time (must be called inside `sim::block_on`,
    /// whose time starts at zero with the run).
    pub fn simulated() -> Self {
        let start = std::time::Instant::now();
        Self {
            start: start.into(),
            start_std: None,
            start_ticks: None,
            simulated: true,
        }
    }

    /// Nanoseconds since the run began.
    pub fn now_ns(&self) -> u64 {
        if self.simulated {
            return sim::now_ns();
        }
        if let Some((rate, start)) = self.start_ticks {
            return rate.ns_between(start, tsc::ticks());
        }
        if let Some(start) = self.start_std {
            return start.elapsed().as_nanos() as u64;
        }
        self.start.elapsed().as_nanos() as u64
    }

    /// Waits until run-relative time `at_ns`.
    pub async fn sleep_until(&self, at_ns: u64) {
        if self.simulated {
            sim::sleep_until(at_ns).await;
        } else {
            tokio::time::sleep_until(self.start + Duration::from_nanos(at_ns)).await;
        }
    }

    /// Lets the other ready tasks run (deterministic mode's executor, or tokio's).
    pub async fn yield_now(&self) {
        if self.simulated {
            sim::yield_now().await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}
