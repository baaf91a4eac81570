//! The access policy: which role may do what. Every check leaves an `access.check` span
//! (`agent.id`, `agent.role`, `compliance.action`, `compliance.outcome` = `allowed` or
//! `denied`), so who was refused what is decided from evidence; every denial is also appended
//! to the audit log, so it cannot be quietly forgotten.

use std::collections::BTreeSet;
use std::fmt;

use opentelemetry::KeyValue;
use serde::Serialize;

use super::audit::{AuditLog, AuditRecord};
use super::validation::{self, InputField, InputProblem};
use crate::coordination::Role;
use crate::error::{Error, Result};
use crate::ids::AgentId;

/// Where a release can go: the deployment domain's environments, so the policy and the
/// deploy simulator can never disagree about which environments exist.
pub use crate::deployment::environment::Environment;

/// Something an agent asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Action {
    /// Claim a work item.
    Claim,
    /// Complete a claimed stage.
    Complete,
    /// Hand an item on to the next role.
    Handoff,
    /// Deploy a release to an environment.
    Deploy(Environment),
}

impl Action {
    /// Parses `claim`, `complete`, `hand off` (or `handoff`), `deploy to <environment>`; the
    /// environment goes through input validation.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        match text {
            "claim" => return Ok(Self::Claim),
            "complete" => return Ok(Self::Complete),
            "hand off" | "handoff" => return Ok(Self::Handoff),
            _ => {}
        }
        match text.strip_prefix("deploy to ") {
            Some(environment) => validation::environment(environment).map(Self::Deploy),
            None => Err(Error::InvalidInput {
                field: InputField::Action,
                problem: InputProblem::Unknown {
                    known: "claim, complete, hand off, deploy to <environment>",
                },
            }),
        }
    }

    /// The `compliance.action` attribute value: `claim`, `deploy:production`, ….
    pub fn label(self) -> String {
        match self {
            Self::Claim => "claim".into(),
            Self::Complete => "complete".into(),
            Self::Handoff => "handoff".into(),
            Self::Deploy(environment) => format!("deploy:{environment}"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Claim => f.write_str("claim"),
            Self::Complete => f.write_str("complete"),
            Self::Handoff => f.write_str("hand off"),
            Self::Deploy(environment) => write!(f, "deploy to {environment}"),
        }
    }
}

/// One agent asking to do one thing at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest {
    /// Who asks.
    pub agent: AgentId,
    /// In which role.
    pub role: Role,
    /// To do what.
    pub action: Action,
    /// When, in nanoseconds since the Unix epoch (the span and audit entry carry it).
    pub at_unix_ns: u64,
}

/// Roles → permissions. Anything not granted is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    grants: BTreeSet<(Role, Action)>,
}

impl AccessPolicy {
    /// A policy that grants nothing.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// This policy, also granting `action` to `role`.
    pub fn grant(mut self, role: Role, action: Action) -> Self {
        self.grants.insert((role, action));
        self
    }

    /// The Scrum-at-Scale default: every role works its own stage (claim, complete, hand
    /// off); developers may deploy to dev, testers to dev and staging, and only release
    /// agents to production.
    pub fn standard() -> Self {
        let mut policy = Self::deny_all();
        for role in Role::ALL {
            for action in [Action::Claim, Action::Complete, Action::Handoff] {
                policy = policy.grant(role, action);
            }
        }
        let deploys = [
            (Role::Developer, &[Environment::Dev][..]),
            (Role::Tester, &[Environment::Dev, Environment::Staging][..]),
            (Role::Release, &Environment::ALL[..]),
        ];
        for (role, environments) in deploys {
            for &environment in environments {
                policy = policy.grant(role, Action::Deploy(environment));
            }
        }
        policy
    }

    /// Whether `role` may do `action`.
    pub fn permits(&self, role: Role, action: Action) -> bool {
        self.grants.contains(&(role, action))
    }

    /// Decides `request`: writes an `access.check` span through the audit log's tracer and,
    /// when denied, appends the denial to `audit` and returns `Error::AccessDenied`.
    pub fn check(&self, request: &AccessRequest, audit: &mut AuditLog) -> Result<()> {
        let allowed = self.permits(request.role, request.action);
        let outcome = if allowed { "allowed" } else { "denied" };
        if let Some(tracer) = audit.tracer() {
            let mut attributes = vec![
                KeyValue::new("agent.id", request.agent.to_string()),
                KeyValue::new("agent.role", request.role.as_str()),
                KeyValue::new("compliance.action", request.action.label()),
                KeyValue::new("compliance.outcome", outcome),
            ];
            if let Action::Deploy(environment) = request.action {
                attributes.push(KeyValue::new("deploy.environment", environment.as_str()));
            }
            super::record_span(tracer, "access.check", request.at_unix_ns, attributes);
        }
        if allowed {
            return Ok(());
        }
        audit.append(AuditRecord {
            at_unix_ns: request.at_unix_ns,
            actor: request.agent.to_string(),
            action: request.action.label(),
            subject: format!("role:{}", request.role),
            outcome: outcome.into(),
            source: "access.check".into(),
        });
        Err(Error::AccessDenied {
            agent: request.agent.to_string(),
            role: request.role,
            action: request.action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(role: Role, action: Action) -> AccessRequest {
        AccessRequest {
            agent: AgentId(7),
            role,
            action,
            at_unix_ns: 1,
        }
    }

    // Proves the standard policy lets developers work but keeps production to release agents.
    #[test]
    fn standard_policy_guards_production() {
        let policy = AccessPolicy::standard();
        let production = Action::Deploy(Environment::Production);
        assert!(policy.permits(Role::Developer, Action::Claim));
        assert!(policy.permits(Role::Developer, Action::Complete));
        assert!(policy.permits(Role::Developer, Action::Deploy(Environment::Dev)));
        assert!(!policy.permits(Role::Developer, production));
        assert!(!policy.permits(Role::Tester, production));
        assert!(!policy.permits(Role::Pm, Action::Deploy(Environment::Dev)));
        assert!(policy.permits(Role::Release, production));
    }

    // Proves a denial is refused with a typed error and audited, and an allowed check is not.
    #[test]
    fn denial_is_refused_and_audited() {
        let policy = AccessPolicy::standard();
        let mut audit = AuditLog::new();
        let production = Action::Deploy(Environment::Production);
        assert!(policy
            .check(&request(Role::Release, production), &mut audit)
            .is_ok());
        assert!(audit.is_empty());
        let refused = policy.check(&request(Role::Developer, production), &mut audit);
        assert!(matches!(
            refused,
            Err(Error::AccessDenied {
                role: Role::Developer,
                ..
            })
        ));
        let entry = &audit.entries()[0];
        assert_eq!(
            (entry.record.action.as_str(), entry.record.outcome.as_str()),
            ("deploy:production", "denied")
        );
        assert!(audit.verify().is_ok());
    }

    // Proves action parsing validates the environment rather than trusting it.
    #[test]
    fn action_parse_validates_environment() {
        assert_eq!(
            Action::parse("deploy to staging").ok(),
            Some(Action::Deploy(Environment::Staging))
        );
        assert_eq!(Action::parse("hand off").ok(), Some(Action::Handoff));
        assert!(matches!(
            Action::parse("deploy to ../prod"),
            Err(Error::InvalidInput {
                field: InputField::Environment,
                ..
            })
        ));
        assert!(matches!(
            Action::parse("delete everything"),
            Err(Error::InvalidInput {
                field: InputField::Action,
                ..
            })
        ));
    }
}
