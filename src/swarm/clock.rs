//! The swarm's clock: nanoseconds since the run began, on tokio's clock.
//!
//! In deterministic mode the runtime's clock is paused and only moves when every task waits,
//! so time is virtual and reproducible; in throughput mode the same calls read the real clock.
//!
//! tokio's timers resolve whole milliseconds, too coarse for simulated calls that take about
//! one. So a deterministic run stretches simulated time onto tokio's clock: one simulated
//! microsecond is one tokio millisecond, which gives microsecond resolution and still leaves
//! room for runs of many simulated days within the timer wheel's range.

use std::time::Duration;

use tokio::time::Instant;

use super::tsc::{self, TscRate};

/// How many tokio nanoseconds stand for one simulated nanosecond in deterministic mode.
pub const SIMULATED_TIME_STRETCH: u64 = 1_000;

/// Run-relative time.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    start: Instant,
    /// The same start on the standard clock, read on the real clock: with tokio's
    /// `test-util` feature compiled in, `tokio::time::Instant::now` first asks the runtime
    /// whether its clock is paused, which costs more than reading the clock.
    start_std: Option<std::time::Instant>,
    /// The same start on the time-stamp counter, with its rate, where it is a usable clock
    /// (real clock only): cheaper again to read than the standard clock (see `tsc`).
    start_ticks: Option<(TscRate, u64)>,
    /// tokio nanoseconds per run nanosecond: 1 on the real clock.
    stretch: u64,
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
            stretch: 1,
        }
    }

    /// Starts counting now on a paused runtime's clock, stretched for resolution.
    pub fn simulated() -> Self {
        Self {
            start: Instant::now(),
            start_std: None,
            start_ticks: None,
            stretch: SIMULATED_TIME_STRETCH,
        }
    }

    /// Nanoseconds since the run began.
    pub fn now_ns(&self) -> u64 {
        if let Some((rate, start)) = self.start_ticks {
            return rate.ns_between(start, tsc::ticks());
        }
        if let Some(start) = self.start_std {
            return start.elapsed().as_nanos() as u64;
        }
        self.start.elapsed().as_nanos() as u64 / self.stretch
    }

    /// Waits until run-relative time `at_ns`.
    pub async fn sleep_until(&self, at_ns: u64) {
        let at = Duration::from_nanos(at_ns.saturating_mul(self.stretch));
        tokio::time::sleep_until(self.start + at).await;
    }
}
