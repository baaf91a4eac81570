//! Retry delays measured from span timestamps: the gap between a failed attempt's end and
//! the next attempt's start must fall inside the policy's jittered bounds for that retry.

use super::Verdict;
use crate::coordination::retry::RetryPolicy;
use crate::telemetry::SpanRecord;

/// Every retry of `op_name` waited as `policy` says, and at least one retry happened.
pub fn retries_follow_policy(spans: &[SpanRecord], op_name: &str, policy: &RetryPolicy) -> Verdict {
    // Attempts per (agent, item, stage), in time order.
    let attempts = super::retries::calls_of(spans, op_name);
    let mut gaps_checked = 0;
    let mut longest_chain = 0;
    let mut outside = Vec::new();
    for ((agent, item, _), chain) in attempts {
        for pair in chain.windows(2) {
            let (failed, next) = (pair[0], pair[1]);
            let attempt = |s: &SpanRecord| {
                s.attr_text("work.attempt")
                    .and_then(|a| a.parse::<u32>().ok())
            };
            let (Some(retry), Some(next_attempt)) = (attempt(failed), attempt(next)) else {
                continue;
            };
            // Only consecutive attempts of one call: a new call restarts at attempt 0.
            if !failed.is_error() || next_attempt != retry + 1 {
                continue;
            }
            gaps_checked += 1;
            longest_chain = longest_chain.max(next_attempt);
            let gap_ns = next.start_unix_ns.saturating_sub(failed.end_unix_ns);
            let (low, high) = policy.delay_bounds(retry);
            // One nanosecond of slack absorbs rounding of the float delay to whole ns.
            if gap_ns + 1 < low.as_nanos() as u64 || gap_ns > high.as_nanos() as u64 + 1 {
                outside.push(format!(
                    "{agent} on {item}: retry {retry} waited {:.3} ms, allowed {:.3}..{:.3} ms",
                    gap_ns as f64 / 1e6,
                    low.as_secs_f64() * 1e3,
                    high.as_secs_f64() * 1e3
                ));
            }
        }
    }
    Verdict::new(
        format!("retries of \"{op_name}\" back off exponentially with jitter"),
        outside.is_empty() && gaps_checked > 0,
        format!(
            "each gap within base {:?} × {}^retry ± {:.0} % (capped at {:?}), at least 1 retry",
            policy.base_delay,
            policy.multiplier,
            policy.jitter_fraction * 100.0,
            policy.max_delay
        ),
        format!(
            "{gaps_checked} retry gaps measured, {} outside bounds, longest chain {longest_chain} retries",
            outside.len()
        ),
        outside,
    )
}
