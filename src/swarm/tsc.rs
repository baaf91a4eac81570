//! The processor's time-stamp counter as the real clock of throughput runs.
//!
//! A throughput run reads the clock about twice per coordinator call. Through the vDSO
//! (`Instant::now`) a reading cost about 40 ns on the bench machine, and readings were
//! a third of an agent's time: more than the engine's calls. Reading the counter directly
//! costs under half of that. It is used only where the kernel itself would trust it
//! (`constant_tsc` and `nonstop_tsc`: the counter ticks at one rate on every core, through
//! sleep states), which is also when the vDSO reads the same counter; everywhere else the
//! run clock keeps `Instant`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the counter's rate is measured against `Instant`, once per process: long
/// enough that the 10–100 ns uncertainty of the two end readings is below 10⁻⁴ of it.
const CALIBRATION: Duration = Duration::from_millis(5);

/// The counter's rate, in nanoseconds per tick.
#[derive(Debug, Clone, Copy)]
pub struct TscRate {
    ns_per_tick: f64,
}

impl TscRate {
    /// The rate on this machine, measured once; `None` where the counter is not a usable
    /// clock (another architecture, or a CPU that does not promise a constant rate).
    pub fn get() -> Option<Self> {
        static RATE: OnceLock<Option<TscRate>> = OnceLock::new();
        *RATE.get_or_init(calibrate)
    }

    /// Nanoseconds between two readings.
    pub fn ns_between(self, earlier: u64, later: u64) -> u64 {
        (later.saturating_sub(earlier) as f64 * self.ns_per_tick) as u64
    }
}

/// The counter now.
#[cfg(target_arch = "x86_64")]
pub fn ticks() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 processor and only reads a register.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// No counter elsewhere: `TscRate::get` is `None`, so this is never called.
#[cfg(not(target_arch = "x86_64"))]
pub fn ticks() -> u64 {
    0
}

fn counter_is_constant() -> bool {
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
            info.lines()
                .find(|line| line.starts_with("flags"))
                .is_some_and(|flags| {
                    let has = |flag: &str| flags.split_whitespace().any(|word| word == flag);
                    has("constant_tsc") && has("nonstop_tsc")
                })
        })
}

fn calibrate() -> Option<TscRate> {
    if !counter_is_constant() {
        return None;
    }
    let (started, first) = (Instant::now(), ticks());
    // Bounded: spins for `CALIBRATION` of the monotonic clock.
    while started.elapsed() < CALIBRATION {
        std::hint::spin_loop();
    }
    let (elapsed, last) = (started.elapsed(), ticks());
    let ticks_elapsed = last.checked_sub(first).filter(|&t| t > 0)?;
    Some(TscRate {
        ns_per_tick: elapsed.as_nanos() as f64 / ticks_elapsed as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the counter clock agrees with the monotonic clock to within a few percent.
    #[test]
    fn counter_clock_tracks_instant() {
        let Some(rate) = TscRate::get() else {
            return; // no usable counter on this machine: the run clock keeps Instant
        };
        let (started, first) = (Instant::now(), ticks());
        std::thread::sleep(Duration::from_millis(20));
        let by_counter = rate.ns_between(first, ticks()) as f64;
        let by_instant = started.elapsed().as_nanos() as f64;
        assert!(
            (by_counter / by_instant - 1.0).abs() < 0.05,
            "{by_counter} vs {by_instant}"
        );
    }
}
