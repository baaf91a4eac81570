//! Integration tests outside the Gherkin suite: the CLI's handling of bad input, the
//! runner's refusal to skip unknown steps, and library-level determinism and mutation checks.

#[path = "../../steps/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "the steps module also serves the CLI, which uses all of it"
)]
mod steps;

// `swarmspec bench --quick`: runs and writes every section (not timed).
mod bench;
mod cli;
// The external-command adapter: a lossy coordinator caught, the file store found clean.
mod command_adapter;
mod library;
mod properties;
mod runner;
mod snapshots;
mod verify;
