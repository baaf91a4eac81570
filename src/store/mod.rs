//! Coordination state kept in JSON files, laid out as Scrum-at-Scale agent coordination
//! tools keep it (`work_claims.json`, `agent_status.json`, `coordination_log.json`), so
//! swarmspec can drive such a directory and audit one another tool wrote.

/// Whether the store kept every completion it acknowledged, judged from spans and files.
pub mod acknowledged;
/// Anomalies in a directory: unreadable files, double holds, unlogged completions, strangers.
pub mod audit;
/// `FileStore`: the `Coordinator` over the directory, one locked transaction per call.
pub mod coordinator;
/// One `work_claims.json` entry read in the coordinator's terms.
pub mod entry;
/// The directory lock (an OS lock, never stale) and atomic, fsynced file replacement.
pub mod files;
/// All-or-nothing replacement of several files through a redo journal.
pub mod journal;
/// The three files' entries as serde types, and the status values.
pub mod layout;

pub use coordinator::FileStore;

#[cfg(test)]
mod tests;
