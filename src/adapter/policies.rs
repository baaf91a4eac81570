//! The parts of an adapter config beyond the commands: how a busy refusal is retried, which
//! faults are injected into the calls, and how the state is read (sampled during the run,
//! and how large it may be).

use std::time::Duration;

use rand::Rng;
use toml::Spanned;

use super::config::StateSource;
use super::loader::{Loader, RawFaults, RawRetry};
use crate::error::Result;

/// Attempts a busy call gets (the first included) when the config does not say.
pub const RETRY_ATTEMPTS_DEFAULT: u32 = 5;
/// The most attempts a config may ask for.
pub const RETRY_ATTEMPTS_MAX: u32 = 100;
/// First backoff before a retry, when the config does not say.
pub const RETRY_BACKOFF_MS_DEFAULT: u64 = 10;
/// Longest backoff before a retry, when the config does not say.
pub const RETRY_BACKOFF_MAX_MS_DEFAULT: u64 = 200;
/// Bytes of state read at most, when the config does not say: enough for a few ten thousand
/// items, and a bound on what one system can make swarmspec hold.
pub const STATE_BYTES_MAX_DEFAULT: u64 = 64 << 20;
/// The most state bytes a config may allow.
pub const STATE_BYTES_MAX_LIMIT: u64 = 1 << 32;
/// The most samples of the state one run takes; past it, sampling stops (and says so).
pub const SAMPLES_MAX: usize = 2_000;

/// How a call refused as *busy* (the system could not serve it now, e.g. its lock file was
/// taken) is retried: up to `attempts` calls in all, each after a backoff drawn uniformly
/// from zero to `backoff × 2^(attempt-1)` (capped at `backoff_max`), so retrying agents
/// spread out instead of colliding again. A *held* refusal (a conflict) is never retried:
/// the item is someone else's, and asking again would be a different agent's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included (1: never retry).
    pub attempts: u32,
    /// The first backoff's upper bound.
    pub backoff: Duration,
    /// The upper bound no backoff exceeds.
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: RETRY_ATTEMPTS_DEFAULT,
            backoff: Duration::from_millis(RETRY_BACKOFF_MS_DEFAULT),
            backoff_max: Duration::from_millis(RETRY_BACKOFF_MAX_MS_DEFAULT),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt` (2 for the first retry), drawn from `rng`.
    pub fn backoff_before(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let doublings = attempt.saturating_sub(2).min(20);
        let ceiling = self
            .backoff
            .saturating_mul(1 << doublings)
            .min(self.backoff_max);
        let ceiling_us = ceiling.as_micros() as u64;
        Duration::from_micros(if ceiling_us == 0 {
            0
        } else {
            rng.gen_range(0..=ceiling_us)
        })
    }
}

/// Faults injected into a command system's calls, to see what the stale locks and
/// half-written files a killed real tool leaves do to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommandFaults {
    /// Share of agent calls (0 to 100) whose process group is sent SIGKILL mid-call.
    pub kill_percent: f64,
    /// How long after its start a doomed call is killed.
    pub kill_after: Duration,
    /// Files (with placeholders) created empty before `init`, as a crashed run would leave
    /// them (e.g. a lock file).
    pub leftover_files: Vec<String>,
}

/// Where the state is read from, how often it is sampled during the run, and how large it
/// may be.
#[derive(Debug, Clone)]
pub struct StateSpec {
    /// A command or a file.
    pub source: StateSource,
    /// Read the state this often while the agents work (never, when `None`).
    pub sample_every: Option<Duration>,
    /// A state larger than this is refused as such (never cut short and misread).
    pub max_bytes: u64,
}

impl Loader<'_> {
    pub(super) fn retry(&self, raw: Option<&Spanned<RawRetry>>) -> Result<RetryPolicy> {
        let mut policy = RetryPolicy::default();
        let Some(raw) = raw else { return Ok(policy) };
        let retry = raw.get_ref();
        if let Some(attempts) = &retry.attempts {
            if !(1..=RETRY_ATTEMPTS_MAX).contains(attempts.get_ref()) {
                return Err(self.fail(
                    attempts.span().start,
                    format!(
                        "[retry] attempts must be 1 (never retry) to {RETRY_ATTEMPTS_MAX}, not {}",
                        attempts.get_ref()
                    ),
                ));
            }
            policy.attempts = *attempts.get_ref();
        }
        if let Some(ms) = &retry.backoff_ms {
            policy.backoff = self.millis(Some(ms), "[retry] backoff_ms", policy.backoff)?;
        }
        if let Some(ms) = &retry.backoff_max_ms {
            policy.backoff_max =
                self.millis(Some(ms), "[retry] backoff_max_ms", policy.backoff_max)?;
        }
        if policy.backoff_max < policy.backoff {
            return Err(self.fail(
                raw.span().start,
                "[retry]: backoff_max_ms is below backoff_ms",
            ));
        }
        Ok(policy)
    }

    pub(super) fn faults(&self, raw: Option<&Spanned<RawFaults>>) -> Result<CommandFaults> {
        let Some(raw) = raw else {
            return Ok(CommandFaults::default());
        };
        let faults = raw.get_ref();
        let kill_percent = match &faults.kill_percent {
            Some(p) if !(0.0..=100.0).contains(p.get_ref()) => {
                return Err(self.fail(
                    p.span().start,
                    format!(
                        "[faults] kill_percent is a share of calls: 0 to 100, not {}",
                        p.get_ref()
                    ),
                ))
            }
            Some(p) => *p.get_ref(),
            None => 0.0,
        };
        let kill_after = self.millis(
            faults.kill_after_ms.as_ref(),
            "[faults] kill_after_ms",
            Duration::from_millis(5),
        )?;
        let mut leftover_files = Vec::new();
        for file in &faults.leftover_files {
            self.check_placeholders(&[file.get_ref()], file.span().start, "faults", &[])?;
            if file.get_ref().trim().is_empty() {
                return Err(self.fail(file.span().start, "[faults] leftover_files: an empty path"));
            }
            leftover_files.push(file.get_ref().clone());
        }
        Ok(CommandFaults {
            kill_percent,
            kill_after,
            leftover_files,
        })
    }

    pub(super) fn state_spec(
        &self,
        raw: &Spanned<super::loader::RawState>,
        timeout: Duration,
    ) -> Result<StateSpec> {
        let source = self.state(raw, timeout)?;
        let state = raw.get_ref();
        let sample_every = match &state.sample_ms {
            Some(ms) => Some(self.millis(Some(ms), "[state] sample_ms", Duration::ZERO)?),
            None => None,
        };
        let max_bytes = match &state.max_bytes {
            Some(n) if !(1..=STATE_BYTES_MAX_LIMIT).contains(n.get_ref()) => {
                return Err(self.fail(
                    n.span().start,
                    format!(
                        "[state] max_bytes must be 1 to {STATE_BYTES_MAX_LIMIT}, not {}",
                        n.get_ref()
                    ),
                ))
            }
            Some(n) => *n.get_ref(),
            None => STATE_BYTES_MAX_DEFAULT,
        };
        Ok(StateSpec {
            source,
            sample_every,
            max_bytes,
        })
    }
}
