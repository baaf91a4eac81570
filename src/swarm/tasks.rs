//! A run's tasks on the executor its mode uses: tokio's worker threads on the real clock,
//! the discrete-event executor (`sim`) on virtual time. The run's code spawns and joins
//! the same way in both.

use std::future::Future;

use super::config::Mode;
use super::sim;

/// A spawned task, to be joined.
pub enum Task<T> {
    /// On tokio's multi-threaded runtime (throughput mode).
    Tokio(tokio::task::JoinHandle<T>),
    /// On the discrete-event executor (deterministic mode).
    Sim(sim::JoinHandle<T>),
}

/// Starts `future` as a task of the run in `mode` (called from inside that run).
pub fn spawn<F>(mode: Mode, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match mode {
        Mode::Throughput => Task::Tokio(tokio::spawn(future)),
        Mode::Deterministic => Task::Sim(sim::spawn(future)),
    }
}

impl<T> Task<T> {
    /// Waits for the task's result; an error says why it has none (it panicked or was
    /// cancelled, on tokio).
    pub async fn join(self) -> Result<T, String> {
        match self {
            Task::Tokio(handle) => handle.await.map_err(|error| error.to_string()),
            Task::Sim(handle) => Ok(handle.await),
        }
    }
}
