//! The deploy controller's health gate: error rate and p99 latency over a window of served
//! requests, against an environment's thresholds.
//!
//! This is the system under test deciding whether to go on or roll back; the evidence checks
//! in `evidence::deployment` judge it afterwards from the spans it left.

use serde::Serialize;

use super::environment::HealthThresholds;

/// Fewest requests a window must hold before it can call a version healthy: a handful of
/// lucky requests proves nothing about an error rate of 1 %.
pub const HEALTH_SAMPLES_MIN: usize = 20;
/// How many times a window too thin to judge is extended before the version is refused.
pub const HEALTH_WINDOW_EXTENSIONS_MAX: u32 = 3;

/// One request the controller saw served (or fail) during a health window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took.
    pub latency_ns: u64,
}

/// What one health check measured and decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// Requests in the window.
    pub sample_count: usize,
    /// Share of them that failed.
    pub error_rate: f64,
    /// Their 99th-percentile latency (nearest rank).
    pub latency_ms_p99: f64,
    /// Whether every threshold held on enough samples.
    pub healthy: bool,
    /// Why, in words: the first threshold broken, or `healthy`.
    pub reason: String,
}

impl HealthReport {
    /// Judges `samples` against `thresholds`.
    pub fn evaluate(samples: &[Sample], thresholds: &HealthThresholds) -> Self {
        let sample_count = samples.len();
        let failed = samples.iter().filter(|sample| !sample.ok).count();
        let error_rate = if sample_count == 0 {
            0.0
        } else {
            failed as f64 / sample_count as f64
        };
        let latency_ms_p99 = p99_ns(samples) as f64 / 1e6;
        let reason = if sample_count < HEALTH_SAMPLES_MIN {
            format!("too few requests to judge ({sample_count} < {HEALTH_SAMPLES_MIN})")
        } else if error_rate > thresholds.error_rate_max {
            format!(
                "error rate {:.2} % above {:.2} %",
                error_rate * 100.0,
                thresholds.error_rate_max * 100.0
            )
        } else if latency_ms_p99 > thresholds.latency_ms_p99_max {
            format!(
                "p99 latency {latency_ms_p99:.1} ms above {} ms",
                thresholds.latency_ms_p99_max
            )
        } else {
            "healthy".to_owned()
        };
        Self {
            sample_count,
            error_rate,
            latency_ms_p99,
            healthy: reason == "healthy",
            reason,
        }
    }
}

/// Nearest-rank 99th percentile of the samples' latencies; 0 when there are none.
fn p99_ns(samples: &[Sample]) -> u64 {
    let mut latencies: Vec<u64> = samples.iter().map(|sample| sample.latency_ns).collect();
    if latencies.is_empty() {
        return 0;
    }
    latencies.sort_unstable();
    let rank = (latencies.len() * 99).div_ceil(100);
    latencies[rank.saturating_sub(1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLDS: HealthThresholds = HealthThresholds {
        error_rate_max: 0.01,
        latency_ms_p99_max: 250.0,
        window_ms: 10_000,
    };

    fn samples(count: usize, failed: usize, latency_ms: u64) -> Vec<Sample> {
        (0..count)
            .map(|i| Sample {
                ok: i >= failed,
                latency_ns: latency_ms * 1_000_000,
            })
            .collect()
    }

    // Proves a clean, fast window is healthy and its figures are reported.
    #[test]
    fn clean_window_is_healthy() {
        let report = HealthReport::evaluate(&samples(100, 0, 20), &THRESHOLDS);
        assert!(report.healthy, "{report:?}");
        assert_eq!(report.sample_count, 100);
        assert_eq!(report.latency_ms_p99, 20.0);
    }

    // Proves each threshold on its own makes a window unhealthy, naming it.
    #[test]
    fn each_threshold_can_fail_the_window() {
        let errors = HealthReport::evaluate(&samples(100, 2, 20), &THRESHOLDS);
        assert!(
            !errors.healthy && errors.reason.contains("error rate"),
            "{errors:?}"
        );
        let slow = HealthReport::evaluate(&samples(100, 0, 400), &THRESHOLDS);
        assert!(!slow.healthy && slow.reason.contains("p99"), "{slow:?}");
        let thin = HealthReport::evaluate(&samples(5, 0, 20), &THRESHOLDS);
        assert!(!thin.healthy && thin.reason.contains("too few"), "{thin:?}");
    }

    // Proves p99 is the nearest-rank value: one slow request in 100 is the p100, not the p99.
    #[test]
    fn p99_is_nearest_rank() {
        let mut window = samples(100, 0, 10);
        window[0].latency_ns = 900_000_000;
        assert_eq!(p99_ns(&window), 10_000_000);
        window[1].latency_ns = 800_000_000;
        assert_eq!(p99_ns(&window), 800_000_000);
        assert_eq!(p99_ns(&[]), 0);
    }
}
