//! swarmspec: turns claims about multi-agent swarms into evidence.
//!
//! A swarm (seeded, simulated) drives a coordinator (the system under test); every operation
//! leaves an OpenTelemetry span and a latency sample in a per-run capture; evidence checks
//! decide from that capture alone. This library knows nothing of cucumber: the Gherkin steps
//! in `steps/` are thin callers of it.

/// Audit log (hash-chained), secret scanner, access policy, input validation.
pub mod compliance;
/// Coordinator trait, the reference in-memory engine, retry, circuit breaker, load balancer.
pub mod coordination;
/// The crate's typed error.
pub mod error;
/// Pure checks over captured spans and histograms, each returning a `Verdict`.
pub mod evidence;
/// Unique, time-sortable agent and work identifiers.
pub mod ids;
/// The seeded swarm simulator: agents, roles, teams, workload, run loop, faults.
pub mod swarm;
/// Per-run capture: one tracer provider with an in-memory exporter, plus latency histograms.
pub mod telemetry;

pub use error::Error;
