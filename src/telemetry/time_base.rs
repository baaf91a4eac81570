//! Run-relative time and the wall-clock timestamps spans carry.
//!
//! The swarm measures time as nanoseconds since the run began. A deterministic run maps that
//! onto a fixed epoch (so its spans are the same in every run); a throughput run maps it onto
//! the real time the run started.

use std::time::{Duration, SystemTime};

/// The epoch a deterministic run's simulated clock starts from: 2026-01-01T00:00:00Z.
pub const SIMULATED_EPOCH_UNIX_S: u64 = 1_767_225_600;

/// Where run-relative time 0 sits on the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    epoch: SystemTime,
}

impl TimeBase {
    /// The fixed epoch of simulated runs.
    pub fn simulated() -> Self {
        Self {
            epoch: SystemTime::UNIX_EPOCH + Duration::from_secs(SIMULATED_EPOCH_UNIX_S),
        }
    }

    /// Now, for runs on the real clock.
    pub fn wall_clock_now() -> Self {
        Self {
            epoch: SystemTime::now(),
        }
    }

    /// The wall-clock instant of run-relative time `offset_ns`.
    pub fn at(&self, offset_ns: u64) -> SystemTime {
        self.epoch + Duration::from_nanos(offset_ns)
    }

    /// Nanoseconds since the Unix epoch of run-relative time 0 (used to stamp identifiers).
    pub fn epoch_unix_ns(&self) -> u64 {
        self.epoch
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    }
}
