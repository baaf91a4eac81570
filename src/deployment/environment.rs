//! Environments and their configuration. Every number a deploy is judged against lives in
//! one table (`EnvironmentTable::defaults`), so a spec, a report and the simulator never
//! disagree about what "healthy" means; a serde struct (`TableOverrides`, TOML- or
//! JSON-shaped) may override single fields of it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Most instances one environment may have: a bound on the simulator's memory and time.
pub const INSTANCE_COUNT_MAX: usize = 1_000;
/// Longest health window: a window longer than this makes a deploy too slow to simulate.
pub const HEALTH_WINDOW_MS_MAX: u64 = 600_000;

/// Where a version runs. Promotion goes dev → staging → production, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Where every version lands first.
    Dev,
    /// The rehearsal for production.
    Staging,
    /// What users see.
    Production,
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Environment {
    /// All environments, in promotion order.
    pub const ALL: [Environment; 3] = [
        Environment::Dev,
        Environment::Staging,
        Environment::Production,
    ];

    /// The name used in specs and span attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }

    /// Parses `dev`, `staging` or `production`.
    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|env| env.as_str() == text)
            .ok_or_else(|| {
                Error::InvalidDeployment(format!(
                    "unknown environment «{text}»: use dev, staging or production"
                ))
            })
    }

    /// The environment a version healthy here is promoted to next.
    pub fn next(self) -> Option<Self> {
        match self {
            Environment::Dev => Some(Environment::Staging),
            Environment::Staging => Some(Environment::Production),
            Environment::Production => None,
        }
    }
}

/// What "healthy" means in one environment, measured over a window of served requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HealthThresholds {
    /// Highest tolerated share of failed requests (0.01 = 1 %); also the error budget.
    pub error_rate_max: f64,
    /// Highest tolerated 99th-percentile request latency.
    pub latency_ms_p99_max: f64,
    /// How long (simulated) a health check watches traffic before deciding.
    pub window_ms: u64,
}

/// One environment's fleet and health gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentConfig {
    /// Instances serving traffic.
    pub instance_count: usize,
    /// The health gate every new version must pass.
    pub health: HealthThresholds,
    /// The version running before any deploy: the first "last good version".
    pub version: String,
}

/// The configuration of every environment: the one place these numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentTable {
    configs: [EnvironmentConfig; 3],
}

impl Default for EnvironmentTable {
    fn default() -> Self {
        Self::defaults()
    }
}

impl EnvironmentTable {
    /// The built-in table: production is the largest fleet with the strictest gate.
    pub fn defaults() -> Self {
        let config =
            |instance_count, error_rate_max, latency_ms_p99_max, window_ms| EnvironmentConfig {
                instance_count,
                health: HealthThresholds {
                    error_rate_max,
                    latency_ms_p99_max,
                    window_ms,
                },
                version: "v1".into(),
            };
        Self {
            configs: [
                config(4, 0.05, 500.0, 5_000),
                config(8, 0.02, 300.0, 10_000),
                config(20, 0.01, 250.0, 10_000),
            ],
        }
    }

    /// The configuration of `env`.
    pub fn get(&self, env: Environment) -> &EnvironmentConfig {
        &self.configs[env as usize]
    }

    /// The configuration of `env`, to change it.
    pub fn get_mut(&mut self, env: Environment) -> &mut EnvironmentConfig {
        &mut self.configs[env as usize]
    }

    /// This table with `overrides` applied, validated.
    pub fn with_overrides(mut self, overrides: &TableOverrides) -> Result<Self> {
        let pairs = [
            (Environment::Dev, &overrides.dev),
            (Environment::Staging, &overrides.staging),
            (Environment::Production, &overrides.production),
        ];
        for (env, change) in pairs {
            if let Some(change) = change {
                change.apply(self.get_mut(env));
            }
        }
        self.validate()?;
        Ok(self)
    }

    /// Rejects a table the simulator cannot run, naming the environment and the value.
    pub fn validate(&self) -> Result<()> {
        for env in Environment::ALL {
            let config = self.get(env);
            let fail = |what: String| {
                Err(Error::InvalidDeployment(format!(
                    "{}: {what}",
                    env.as_str()
                )))
            };
            if config.instance_count == 0 || config.instance_count > INSTANCE_COUNT_MAX {
                return fail(format!(
                    "instance count must be 1 to {INSTANCE_COUNT_MAX}, got {}",
                    config.instance_count
                ));
            }
            let health = config.health;
            if !(0.0..=1.0).contains(&health.error_rate_max) {
                return fail(format!(
                    "error rate max must be between 0 and 1, got {}",
                    health.error_rate_max
                ));
            }
            if !positive(health.latency_ms_p99_max) {
                return fail(format!(
                    "p99 latency max must be positive, got {}",
                    health.latency_ms_p99_max
                ));
            }
            if health.window_ms == 0 || health.window_ms > HEALTH_WINDOW_MS_MAX {
                return fail(format!(
                    "health window must be 1 to {HEALTH_WINDOW_MS_MAX} ms, got {}",
                    health.window_ms
                ));
            }
            if config.version.trim().is_empty() {
                return fail("the initial version needs a name".into());
            }
        }
        Ok(())
    }
}

/// Whether `value` is a usable positive bound (NaN and infinity are not).
pub(crate) fn positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

/// Optional per-environment changes to the default table, as read from a config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOverrides {
    /// Changes to dev.
    pub dev: Option<EnvironmentOverride>,
    /// Changes to staging.
    pub staging: Option<EnvironmentOverride>,
    /// Changes to production.
    pub production: Option<EnvironmentOverride>,
}

/// The fields of one environment a config file may change; absent fields keep the default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentOverride {
    /// Instances serving traffic.
    pub instance_count: Option<usize>,
    /// Highest tolerated share of failed requests.
    pub error_rate_max: Option<f64>,
    /// Highest tolerated p99 latency.
    pub latency_ms_p99_max: Option<f64>,
    /// Health window length.
    pub window_ms: Option<u64>,
    /// The version running before any deploy.
    pub version: Option<String>,
}

impl EnvironmentOverride {
    fn apply(&self, config: &mut EnvironmentConfig) {
        if let Some(count) = self.instance_count {
            config.instance_count = count;
        }
        if let Some(rate) = self.error_rate_max {
            config.health.error_rate_max = rate;
        }
        if let Some(latency) = self.latency_ms_p99_max {
            config.health.latency_ms_p99_max = latency;
        }
        if let Some(window) = self.window_ms {
            config.health.window_ms = window;
        }
        if let Some(version) = &self.version {
            config.version.clone_from(version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the default table is valid and production has the strictest gate.
    #[test]
    fn defaults_are_valid_and_production_is_strictest() {
        let table = EnvironmentTable::defaults();
        table.validate().unwrap();
        let production = table.get(Environment::Production).health;
        for env in [Environment::Dev, Environment::Staging] {
            assert!(table.get(env).health.error_rate_max > production.error_rate_max);
        }
        assert_eq!(table.get(Environment::Production).instance_count, 20);
    }

    // Proves an override changes only the fields it names, and a bad value is refused.
    #[test]
    fn overrides_change_named_fields_and_are_validated() {
        let overrides: TableOverrides =
            serde_json::from_str(r#"{"staging": {"instance_count": 3, "version": "v7"}}"#).unwrap();
        let table = EnvironmentTable::defaults()
            .with_overrides(&overrides)
            .unwrap();
        let staging = table.get(Environment::Staging);
        assert_eq!(
            (staging.instance_count, staging.version.as_str()),
            (3, "v7")
        );
        assert_eq!(
            staging.health,
            EnvironmentTable::defaults()
                .get(Environment::Staging)
                .health
        );

        let bad: TableOverrides =
            serde_json::from_str(r#"{"dev": {"error_rate_max": 2.0}}"#).unwrap();
        let error = EnvironmentTable::defaults()
            .with_overrides(&bad)
            .unwrap_err();
        assert!(error.to_string().contains("dev"), "{error}");
        assert!(serde_json::from_str::<TableOverrides>(r#"{"qa": {}}"#).is_err());
    }

    // Proves names round-trip and promotion order is dev → staging → production → none.
    #[test]
    fn names_and_promotion_order() {
        for env in Environment::ALL {
            assert_eq!(Environment::parse(env.as_str()).unwrap(), env);
        }
        assert!(Environment::parse("qa").is_err());
        assert_eq!(Environment::Dev.next(), Some(Environment::Staging));
        assert_eq!(Environment::Staging.next(), Some(Environment::Production));
        assert_eq!(Environment::Production.next(), None);
    }
}
