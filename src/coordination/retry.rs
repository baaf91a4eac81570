//! Exponential backoff with jitter, bounded by a maximum delay and a maximum retry count.

use std::time::Duration;

use rand::Rng;
use serde::Serialize;

/// How a caller waits between retries of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RetryPolicy {
    /// Delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// Each further retry waits this many times longer.
    pub multiplier: f64,
    /// No delay exceeds this, before jitter.
    pub max_delay: Duration,
    /// Jitter as a fraction of the delay: 0.2 spreads a delay d over [0.8 d, 1.2 d].
    pub jitter_fraction: f64,
    /// Retries after the first attempt; then the caller gives up.
    pub retries_max: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(10),
            multiplier: 2.0,
            max_delay: Duration::from_secs(1),
            jitter_fraction: 0.2,
            retries_max: 6,
        }
    }
}

impl RetryPolicy {
    /// The delay before the jitter is applied, for retry number `retry` (0 = first retry).
    pub fn nominal_delay(&self, retry: u32) -> Duration {
        let grown = self.base_delay.as_secs_f64() * self.multiplier.powi(retry as i32);
        Duration::from_secs_f64(grown.min(self.max_delay.as_secs_f64()))
    }

    /// The range a jittered delay for `retry` must fall in.
    pub fn delay_bounds(&self, retry: u32) -> (Duration, Duration) {
        let nominal = self.nominal_delay(retry).as_secs_f64();
        (
            Duration::from_secs_f64(nominal * (1.0 - self.jitter_fraction)),
            Duration::from_secs_f64(nominal * (1.0 + self.jitter_fraction)),
        )
    }

    /// The delay to wait before retry number `retry`, or `None` when retries are used up.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Option<Duration> {
        if retry >= self.retries_max {
            return None;
        }
        let nominal = self.nominal_delay(retry).as_secs_f64();
        let spread = if self.jitter_fraction > 0.0 {
            rng.gen_range(-self.jitter_fraction..=self.jitter_fraction)
        } else {
            0.0
        };
        Some(Duration::from_secs_f64(nominal * (1.0 + spread)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    // Proves delays double, stay within jitter bounds, cap at the maximum, and stop.
    #[test]
    fn delays_grow_within_bounds_then_stop() {
        let policy = RetryPolicy::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for retry in 0..policy.retries_max {
            let delay = policy.delay(retry, &mut rng).expect("within retries");
            let (low, high) = policy.delay_bounds(retry);
            assert!(low <= delay && delay <= high, "retry {retry}: {delay:?}");
        }
        assert_eq!(policy.nominal_delay(1), Duration::from_millis(20));
        assert_eq!(policy.nominal_delay(30), policy.max_delay);
        assert_eq!(policy.delay(policy.retries_max, &mut rng), None);
    }
}
