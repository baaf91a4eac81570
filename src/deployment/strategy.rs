//! Deploy strategies: how a new version replaces the old one while traffic keeps flowing.

use serde::Serialize;

use super::environment::INSTANCE_COUNT_MAX;
use crate::error::{Error, Result};

/// Most traffic steps a canary may take: each step costs a health window of simulated time.
pub const CANARY_STEPS_MAX: usize = 10;

/// How a deploy moves traffic to the new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Replace instances in place, `batch_size` at a time, checking health after each batch.
    Rolling {
        /// Instances replaced per batch; a fleet smaller than this is replaced in one batch,
        /// so one strategy can be promoted through environments of different sizes.
        batch_size: usize,
    },
    /// Start a full second fleet (green) beside the old (blue), switch all traffic once
    /// green is ready, keep blue on standby until green has proved healthy.
    BlueGreen,
    /// Give the new version a growing share of traffic, one step at a time.
    Canary {
        /// Traffic shares in percent, strictly increasing, ending at 100.
        steps_percent: Vec<u8>,
    },
}

impl Strategy {
    /// The name used in span attributes.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Rolling { .. } => "rolling",
            Strategy::BlueGreen => "blue_green",
            Strategy::Canary { .. } => "canary",
        }
    }

    /// Rejects a strategy that cannot run.
    pub fn validate(&self) -> Result<()> {
        let fail = |what: String| Err(Error::InvalidDeployment(format!("{}: {what}", self.name())));
        match self {
            Strategy::Rolling { batch_size } => {
                if *batch_size == 0 || *batch_size > INSTANCE_COUNT_MAX {
                    return fail(format!(
                        "batch size must be 1 to {INSTANCE_COUNT_MAX}, got {batch_size}"
                    ));
                }
            }
            Strategy::BlueGreen => {}
            Strategy::Canary { steps_percent } => {
                if steps_percent.is_empty() || steps_percent.len() > CANARY_STEPS_MAX {
                    return fail(format!(
                        "a canary needs 1 to {CANARY_STEPS_MAX} steps, got {}",
                        steps_percent.len()
                    ));
                }
                let increasing = steps_percent.windows(2).all(|pair| pair[0] < pair[1]);
                if !increasing || steps_percent[0] == 0 || steps_percent.last() != Some(&100) {
                    return fail(format!(
                        "steps must rise strictly from above 0 to 100 %, got {steps_percent:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Parses `rolling`, `blue-green` or `canary`, with the batch size or the steps a spec
    /// gave ("5" or "5, 25, 100"); `detail` is ignored for blue-green.
    pub fn parse(name: &str, detail: &str) -> Result<Self> {
        let numbers = || -> Result<Vec<u64>> {
            detail
                .split([',', '→'])
                .map(|part| part.replace(['%', '>', '-'], "").trim().parse::<u64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|error| {
                    Error::InvalidDeployment(format!(
                        "«{detail}» is not a list of numbers: {error}"
                    ))
                })
        };
        match name {
            "rolling" => {
                let sizes = numbers()?;
                match sizes.as_slice() {
                    [size] => Ok(Strategy::Rolling {
                        batch_size: *size as usize,
                    }),
                    _ => Err(Error::InvalidDeployment(format!(
                        "a rolling deploy takes one batch size, got «{detail}»"
                    ))),
                }
            }
            "blue-green" | "blue_green" => Ok(Strategy::BlueGreen),
            "canary" => {
                let steps = numbers()?;
                let steps_percent = steps
                    .into_iter()
                    .map(|step| u8::try_from(step.min(u64::from(u8::MAX))).unwrap_or(u8::MAX))
                    .collect();
                Ok(Strategy::Canary { steps_percent })
            }
            other => Err(Error::InvalidDeployment(format!(
                "unknown strategy «{other}»: use rolling, blue-green or canary"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves specs' spellings parse to the strategies they name.
    #[test]
    fn parses_spec_spellings() {
        assert_eq!(
            Strategy::parse("rolling", "5").unwrap(),
            Strategy::Rolling { batch_size: 5 }
        );
        assert_eq!(
            Strategy::parse("blue-green", "").unwrap(),
            Strategy::BlueGreen
        );
        assert_eq!(
            Strategy::parse("canary", "5 % → 25 % → 100 %").unwrap(),
            Strategy::Canary {
                steps_percent: vec![5, 25, 100]
            }
        );
        assert!(Strategy::parse("big-bang", "").is_err());
        assert!(Strategy::parse("rolling", "five").is_err());
    }

    // Proves impossible strategies are refused with the offending value.
    #[test]
    fn validation_refuses_impossible_strategies() {
        assert!(Strategy::Rolling { batch_size: 0 }.validate().is_err());
        assert!(Strategy::Rolling { batch_size: 5_000 }.validate().is_err());
        assert!(Strategy::Rolling { batch_size: 5 }.validate().is_ok());
        let canary = |steps: &[u8]| Strategy::Canary {
            steps_percent: steps.to_vec(),
        };
        assert!(canary(&[5, 25, 100]).validate().is_ok());
        assert!(canary(&[25, 5, 100]).validate().is_err());
        assert!(canary(&[5, 25]).validate().is_err());
        assert!(canary(&[0, 100]).validate().is_err());
        let error = canary(&[]).validate().unwrap_err();
        assert!(error.to_string().contains("canary"), "{error}");
    }
}
