//! Versions and how they behave: a version's behaviour profile is what lets a spec simulate a
//! bad release (one that never becomes ready, fails requests, or is slow) and watch the
//! deploy machinery catch it.

use std::collections::BTreeMap;

use rand::Rng;
use serde::Serialize;

use crate::error::{Error, Result};

/// Fixed part of every request's latency: network and framework overhead.
const LATENCY_NS_BASE: f64 = 5_000_000.0;
/// Mean of the random part of a healthy version's latency (exponentially distributed).
const LATENCY_NS_MEAN_GOOD: f64 = 15_000_000.0;

/// How a version behaves once it runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Behaviour {
    /// Becomes ready and serves every request, quickly.
    Good,
    /// Never passes its readiness probe (a crash loop, a missing dependency).
    FailsReadiness,
    /// Ready, but fails this share of requests (0.2 = 20 %).
    RaisesErrorRate {
        /// Share of requests that fail.
        error_rate: f64,
    },
    /// Ready and correct, but this slow on average.
    RaisesLatency {
        /// Mean latency of the random part, in milliseconds.
        latency_ms_mean: f64,
    },
}

/// One request's result on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// Whether the request succeeded.
    pub ok: bool,
    /// How long it took, simulated.
    pub latency_ns: u64,
}

impl Behaviour {
    /// Whether an instance running this version passes its readiness probe.
    pub fn passes_readiness(self) -> bool {
        self != Behaviour::FailsReadiness
    }

    /// Serves one request; `extra_error_rate` is a fault of the environment itself (a broken
    /// dependency) that fails requests whatever the version.
    pub fn serve(self, rng: &mut impl Rng, extra_error_rate: f64) -> Served {
        let (error_rate, mean_ns) = match self {
            Behaviour::Good | Behaviour::FailsReadiness => (0.0, LATENCY_NS_MEAN_GOOD),
            Behaviour::RaisesErrorRate { error_rate } => (error_rate, LATENCY_NS_MEAN_GOOD),
            Behaviour::RaisesLatency { latency_ms_mean } => (0.0, latency_ms_mean * 1e6),
        };
        // Inverse-CDF sampling of an exponential: -mean · ln(1 − u), u in [0, 1).
        let uniform: f64 = rng.gen();
        let latency_ns = LATENCY_NS_BASE - mean_ns * (1.0 - uniform).ln();
        let failed = rng.gen_bool(error_rate.clamp(0.0, 1.0))
            || rng.gen_bool(extra_error_rate.clamp(0.0, 1.0));
        Served {
            ok: !failed,
            latency_ns: latency_ns as u64,
        }
    }

    fn validate(self, version: &str) -> Result<()> {
        let fail = |what: String| {
            Err(Error::InvalidDeployment(format!(
                "version {version}: {what}"
            )))
        };
        match self {
            Behaviour::RaisesErrorRate { error_rate } if !(0.0..=1.0).contains(&error_rate) => {
                fail(format!(
                    "error rate must be between 0 and 1, got {error_rate}"
                ))
            }
            Behaviour::RaisesLatency { latency_ms_mean }
                if !super::environment::positive(latency_ms_mean) =>
            {
                fail(format!(
                    "mean latency must be positive, got {latency_ms_mean}"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The behaviour of every version a scenario names; a version not named is `Good`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VersionCatalog {
    behaviours: BTreeMap<String, Behaviour>,
}

impl VersionCatalog {
    /// Declares how `version` behaves.
    pub fn set(&mut self, version: &str, behaviour: Behaviour) -> Result<()> {
        if version.trim().is_empty() {
            return Err(Error::InvalidDeployment("a version needs a name".into()));
        }
        behaviour.validate(version)?;
        self.behaviours.insert(version.to_owned(), behaviour);
        Ok(())
    }

    /// How `version` behaves.
    pub fn behaviour(&self, version: &str) -> Behaviour {
        self.behaviours
            .get(version)
            .copied()
            .unwrap_or(Behaviour::Good)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn failures(behaviour: Behaviour, extra: f64) -> usize {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        (0..10_000)
            .filter(|_| !behaviour.serve(&mut rng, extra).ok)
            .count()
    }

    // Proves a good version never fails, and a bad one fails about as often as declared.
    #[test]
    fn error_rate_follows_the_profile() {
        assert_eq!(failures(Behaviour::Good, 0.0), 0);
        let bad = failures(Behaviour::RaisesErrorRate { error_rate: 0.2 }, 0.0);
        assert!((1_800..2_200).contains(&bad), "{bad}");
        let faulty_env = failures(Behaviour::Good, 0.1);
        assert!((800..1_200).contains(&faulty_env), "{faulty_env}");
    }

    // Proves a slow version is slower than a good one and only FailsReadiness fails readiness.
    #[test]
    fn latency_and_readiness_follow_the_profile() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mean = |behaviour: Behaviour, rng: &mut ChaCha8Rng| {
            (0..1_000)
                .map(|_| behaviour.serve(rng, 0.0).latency_ns)
                .sum::<u64>()
                / 1_000
        };
        let good = mean(Behaviour::Good, &mut rng);
        let slow = mean(
            Behaviour::RaisesLatency {
                latency_ms_mean: 300.0,
            },
            &mut rng,
        );
        assert!(good < 30_000_000 && slow > 200_000_000, "{good} {slow}");
        assert!(!Behaviour::FailsReadiness.passes_readiness());
        assert!(Behaviour::RaisesErrorRate { error_rate: 1.0 }.passes_readiness());
    }

    // Proves the catalog defaults unknown versions to Good and refuses impossible profiles.
    #[test]
    fn catalog_defaults_and_validation() {
        let mut catalog = VersionCatalog::default();
        assert_eq!(catalog.behaviour("v9"), Behaviour::Good);
        catalog.set("v2", Behaviour::FailsReadiness).unwrap();
        assert_eq!(catalog.behaviour("v2"), Behaviour::FailsReadiness);
        assert!(catalog
            .set("v3", Behaviour::RaisesErrorRate { error_rate: 1.5 })
            .is_err());
        assert!(catalog.set(" ", Behaviour::Good).is_err());
    }
}
