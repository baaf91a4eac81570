//! Reading the state while the agents work, so the report can say when it broke.
//!
//! A sample is read exactly as the final state is (`state::read`), every `[state]
//! sample_ms`, on a thread of its own that stops when the agents do. Each sample keeps when
//! its read began and ended: the checker may only hold a sample to an acknowledgement that
//! came before the read began.

use std::sync::mpsc;
use std::time::Duration;

use serde::Serialize;

use super::call::{Launcher, Values};
use super::config::StateSpec;
use super::policies::SAMPLES_MAX;
use super::state::{self, FinalState};

/// The state as one read during the run saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateSample {
    /// When the read began, ns since the run began.
    pub start_ns: u64,
    /// When it ended.
    pub end_ns: u64,
    /// What it read.
    pub state: FinalState,
}

/// Reads the state every `every` until `stop` says so (or is dropped), at most
/// `SAMPLES_MAX` times; `now_ns` is the run's clock.
pub(super) fn sample_until(
    spec: &StateSpec,
    every: Duration,
    (launcher, values): (&Launcher, &Values<'_>),
    now_ns: impl Fn() -> u64,
    stop: &mpsc::Receiver<()>,
) -> Vec<StateSample> {
    let mut samples = Vec::new();
    while samples.len() < SAMPLES_MAX {
        match stop.recv_timeout(every) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let start_ns = now_ns();
        let state = state::read(spec, launcher, values);
        samples.push(StateSample {
            start_ns,
            end_ns: now_ns(),
            state,
        });
    }
    samples
}
