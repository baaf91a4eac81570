//! A swarm whose workers join from anywhere: `swarmspec run --workers …` submits the
//! workload to a shared store (a PostgreSQL schema, or a file store on a shared disk) and
//! serves a receiver; `swarmspec worker --join URL` on any host asks for its share, waits
//! for the start, works on the store, and exports its spans to that receiver over
//! OTLP/HTTP (the standard protocol, so a collector can sit in between). The parent judges
//! the merged spans and the store by the same history checks as a local split run, and
//! names every worker that never joined, failed, or went silent.

/// The receiver's record of workers and spans.
pub mod board;
/// The worker's side of the calls.
pub mod client;
/// The parent's run.
pub mod parent;
/// The messages and the paths they go to.
pub mod protocol;
/// The HTTP receiver.
pub mod server;
