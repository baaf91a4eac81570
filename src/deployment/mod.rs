//! Simulated zero-downtime deploys: environments, instances under client traffic,
//! strategies (rolling, blue-green, canary), health gates, automatic rollback, promotion.
//!
//! A deploy runs in a seeded discrete-event simulation (`sim`) on virtual time: client
//! agents send requests the whole time, the router sends them only to ready instances, and
//! every request, batch, probe, health check and rollback leaves a span in a `Capture`.
//! "Zero downtime" is then a count of failed `request` spans, decided by
//! `evidence::deployment` from the spans alone, never from what this module reports.

/// Environments (dev, staging, production) and the one table of their configuration.
pub mod environment;
/// Instances of one environment and the traffic router in front of them.
pub mod fleet;
/// The health gate: error rate and p99 latency over a window.
pub mod health;
/// One deploy per environment at a time; competing requests.
pub mod locks;
/// Deploys and promotions: locking, `deploy.run` spans, health-gated promotion.
pub mod pipeline;
/// The session plan a scenario builds, and running one action of it.
pub mod plan;
/// Rolling, blue-green and canary steps, and rollback.
pub mod rollout;
/// The discrete-event simulation: clock, traffic, fleet operations.
pub mod sim;
/// Strategy definitions and parsing.
pub mod strategy;
/// Deploy spans with simulated timestamps and explicit parents.
pub mod trace;
/// The client agents' request schedule.
pub mod traffic;
/// Versions and their behaviour profiles (good, fails readiness, errors, slow).
pub mod version;

pub use environment::{Environment, EnvironmentConfig, EnvironmentTable, HealthThresholds};
pub use fleet::RouterDiscipline;
pub use plan::{Action, DeployReport, DeploymentPlan};
pub use strategy::Strategy;
pub use version::{Behaviour, VersionCatalog};

// Whole sessions judged by the evidence checks.
#[cfg(test)]
mod scenarios;
