//! One deploy per environment at a time. Two rollouts interleaving on one fleet would leave
//! it running neither version, and each would roll back the other's instances; so a second
//! deploy to a busy environment is refused with a typed error, never queued silently.

use super::environment::Environment;
use crate::error::{Error, Result};

/// Which environments a deploy is changing right now, and with which version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentLocks {
    held: [Option<String>; 3],
}

impl EnvironmentLocks {
    /// Claims `env` for a deploy of `version`, or says which deploy holds it.
    pub fn acquire(&mut self, env: Environment, version: &str) -> Result<()> {
        let slot = &mut self.held[env as usize];
        if let Some(running) = slot {
            return Err(Error::DeployInProgress {
                environment: env.as_str().to_owned(),
                running_version: running.clone(),
                requested_version: version.to_owned(),
            });
        }
        *slot = Some(version.to_owned());
        Ok(())
    }

    /// Frees `env` when its deploy ends, whatever the outcome.
    pub fn release(&mut self, env: Environment) {
        let released = self.held[env as usize].take();
        assert!(
            released.is_some(),
            "{} released without a deploy",
            env.as_str()
        );
    }

    /// The version being deployed to `env`, if any.
    pub fn holder(&self, env: Environment) -> Option<&str> {
        self.held[env as usize].as_deref()
    }
}

/// A deploy request that arrives while the simulation is busy with another deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Competitor {
    /// When it arrives, simulated.
    pub at_ns: u64,
    /// Where it wants to deploy.
    pub environment: Environment,
    /// What it wants to deploy.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a second deploy to a held environment is refused with a typed error naming
    // both versions, while other environments stay free.
    #[test]
    fn second_deploy_to_a_busy_environment_is_refused() {
        let mut locks = EnvironmentLocks::default();
        locks.acquire(Environment::Production, "v2").unwrap();
        let error = locks.acquire(Environment::Production, "v3").unwrap_err();
        match &error {
            Error::DeployInProgress {
                environment,
                running_version,
                requested_version,
            } => {
                assert_eq!(
                    (
                        environment.as_str(),
                        running_version.as_str(),
                        requested_version.as_str()
                    ),
                    ("production", "v2", "v3")
                );
            }
            other => panic!("wrong error: {other}"),
        }
        assert!(locks.acquire(Environment::Staging, "v3").is_ok());
        assert_eq!(locks.holder(Environment::Production), Some("v2"));
    }

    // Proves releasing frees the environment for the next deploy.
    #[test]
    fn release_frees_the_environment() {
        let mut locks = EnvironmentLocks::default();
        locks.acquire(Environment::Dev, "v2").unwrap();
        locks.release(Environment::Dev);
        assert_eq!(locks.holder(Environment::Dev), None);
        assert!(locks.acquire(Environment::Dev, "v3").is_ok());
    }
}
