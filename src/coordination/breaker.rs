//! A circuit breaker: after `failure_threshold` consecutive failures it opens and refuses
//! calls for `cooldown`; then it lets one probe through (half-open) and closes on success.
//!
//! The breaker reads no clock: callers pass their current time, so it behaves the same under
//! virtual time.

use std::time::Duration;

use serde::Serialize;

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the cool-down has passed.
    Open,
    /// One probe call is allowed; its result decides.
    HalfOpen,
}

impl BreakerState {
    /// The name used in `circuit.transition` spans.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// When the breaker trips and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a probe.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_millis(200),
        }
    }
}

/// A change of state, for the caller to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: BreakerState,
    /// State after.
    pub to: BreakerState,
}

/// One breaker, owned by one caller (an agent), so it needs no locking.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive_failures: u32,
    opened_at_ns: u64,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed,
            consecutive_failures: 0,
            opened_at_ns: 0,
        }
    }

    /// Current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// When an open breaker will allow a probe (ns), if it is open.
    pub fn reopens_at_ns(&self) -> Option<u64> {
        (self.state == BreakerState::Open)
            .then(|| self.opened_at_ns + self.config.cooldown.as_nanos() as u64)
    }

    /// Whether a call may go out now; moves open → half-open once the cool-down has passed.
    pub fn permit(&mut self, now_ns: u64) -> (bool, Option<Transition>) {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => (true, None),
            BreakerState::Open => match self.reopens_at_ns() {
                Some(at) if now_ns >= at => (true, Some(self.move_to(BreakerState::HalfOpen))),
                _ => (false, None),
            },
        }
    }

    /// Records a successful call.
    pub fn on_success(&mut self) -> Option<Transition> {
        self.consecutive_failures = 0;
        (self.state != BreakerState::Closed).then(|| self.move_to(BreakerState::Closed))
    }

    /// Records a failed call.
    pub fn on_failure(&mut self, now_ns: u64) -> Option<Transition> {
        self.consecutive_failures += 1;
        let trips = self.state == BreakerState::HalfOpen
            || (self.state == BreakerState::Closed
                && self.consecutive_failures >= self.config.failure_threshold);
        if !trips {
            return None;
        }
        self.opened_at_ns = now_ns;
        Some(self.move_to(BreakerState::Open))
    }

    fn move_to(&mut self, to: BreakerState) -> Transition {
        let transition = Transition {
            from: self.state,
            to,
        };
        self.state = to;
        transition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the full cycle closed → open → half-open → closed, and half-open → open on failure.
    #[test]
    fn trips_cools_down_probes_and_recovers() {
        let config = BreakerConfig {
            failure_threshold: 2,
            cooldown: Duration::from_nanos(100),
        };
        let mut breaker = CircuitBreaker::new(config);
        assert_eq!(breaker.on_failure(0), None);
        assert_eq!(
            breaker.on_failure(1).map(|t| t.to),
            Some(BreakerState::Open)
        );
        assert_eq!(breaker.permit(50), (false, None));
        let (allowed, moved) = breaker.permit(101);
        assert!(allowed);
        assert_eq!(moved.map(|t| t.to), Some(BreakerState::HalfOpen));
        assert_eq!(
            breaker.on_failure(102).map(|t| t.to),
            Some(BreakerState::Open)
        );
        assert!(breaker.permit(202).0);
        assert_eq!(
            breaker.on_success().map(|t| t.to),
            Some(BreakerState::Closed)
        );
    }
}
