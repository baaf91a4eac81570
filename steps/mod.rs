//! Step definitions: thin glue from Gherkin to the library. Each step parses its arguments,
//! makes one or two library calls, and stores or judges the result; no step decides a
//! verdict itself.

// Custom parameter types: {duration}, {percent}, {role}, {environment}.
pub mod parameters;
// The one World every feature shares: the swarm configuration, capture and verdicts.
pub mod world;
// Given/When steps that shape and run a swarm, and Then steps about coordination.
mod coordination;
// Given/When steps that shape and run a deploy session, and Then steps about deploys.
mod deployment;
// Steps about the audit chain, secret scanning, access policy and input validation.
pub mod compliance;
// Generic evidence steps over spans and histograms, usable from any feature.
mod telemetry;
// Spans a real system wrote, loaded as evidence; checks about the span file itself.
pub mod ingestion;
// A swarm split across OS processes sharing a file store, and checks of the store's files.
pub mod processes;
// Real coordinators driven through their command line, judged by the history checker.
mod real_systems;
// Which system a scenario drives, and faults done to a child-process system.
pub mod systems;
// Scenarios on a real PostgreSQL server: crash-restarts, dropped connections, serializable.
pub mod database;
// The thread that does the database faults during a run, and counts what it did.
pub mod database_driver;
// Memory claims measured in a child process that runs only that swarm.
mod memory;
// The run record of each scenario (what it actually ran), for claims' conditions.
mod record;
// Fault injection (slow agents, partitions, skewed clocks, errors) and its invariants.
mod resilience;
// Agents' reactions: backoff after a lost claim, same-instant starts, give-ups and limits.
mod reactions;
// The step catalogue, read from the step sources (for `swarmspec steps` and suggestions).
pub mod catalogue;
// Checks of feature files before a run: syntax errors and unknown steps, file:line:column.
pub mod precheck;
// Why a step text matches no definition: another keyword's step, a refused parameter, unknown.
pub mod step_match;
// cucumber's feature parser with Scenario Outlines expanded in linear time and memory.
pub mod outlines;
// The cucumber runner with its terminal, JUnit and JSON writers.
pub mod runner;

pub use runner::{run_features, run_suite, SuiteOptions, SuiteOutcome};
pub use world::SwarmWorld;

/// Names the swarmspec executable that steps running child processes use (split workers,
/// memory probes): a test runner outside the CLI passes `env!("CARGO_BIN_EXE_swarmspec")`.
/// Only the first call counts.
pub fn set_executable(path: impl Into<std::path::PathBuf>) {
    crate::systems::set_swarmspec_executable(path);
}
