//! swarmspec: turns claims about multi-agent swarms into evidence.
//!
//! A swarm (seeded, simulated) drives a coordinator (the system under test); every operation
//! leaves an OpenTelemetry span and a latency sample in a per-run capture; evidence checks
//! decide from that capture alone. The engine, evidence and reports know nothing of cucumber:
//! the Gherkin steps (`steps/`, compiled in as `swarmspec::steps` by the default `steps`
//! feature) are thin callers of them, and another crate can run them against its own
//! coordinator.

/// The external-command adapter: drives another coordinator through its command line and
/// checks its acknowledged history against its final state.
pub mod adapter;
/// `swarmspec bench`: throughput, latency and memory measured against a raw CAS baseline.
pub mod bench;
/// The claims ledger: claims, metrics, and their evaluation.
pub mod claims;
/// Audit log (hash-chained), secret scanner, access policy, input validation.
pub mod compliance;
/// Coordinator trait, the reference in-memory engine, retry, circuit breaker, load balancer.
pub mod coordination;
/// Simulated zero-downtime deploys: environments, strategies, health gates, rollback.
pub mod deployment;
/// Numeric claims in Markdown prose, checked against the verified claims.
pub mod docs_check;
/// The crate's typed error.
pub mod error;
/// Pure checks over captured spans and histograms, each returning a `Verdict`.
pub mod evidence;
/// Findings reported the same way by every checker: counts by kind, root causes once, one
/// truncation rule, and all of them in JSON.
pub mod findings;
/// Unique, time-sortable agent and work identifiers.
pub mod ids;
/// Spans a real system wrote (OTLP JSON, span logs), read into evidence.
pub mod ingest;
/// The live view of a run in the browser (`run --serve`).
pub mod live;
/// The kill matrix of `verify --mutants`: which scenarios failed on which planted defect.
pub mod mutants;
/// The report model and its renderers (JSON, Markdown, JUnit, HTML) and run history.
pub mod report;
/// The Gherkin step catalogue, its World and the cucumber runner (feature `steps`).
#[cfg(feature = "steps")]
#[path = "../steps/mod.rs"]
pub mod steps;
/// Coordination state in a directory of JSON files (the Scrum-at-Scale layout), safe for many
/// OS processes.
pub mod store;
/// The seeded swarm simulator: agents, roles, teams, workload, run loop, faults.
pub mod swarm;
/// The system under test named by one spec string (`memory`, `file:DIR`, `process:…`),
/// opened as a `Coordinator` with its capabilities; the process protocol.
pub mod systems;
/// Per-run capture: one tracer provider with an in-memory exporter, plus latency histograms.
pub mod telemetry;

pub use error::Error;
