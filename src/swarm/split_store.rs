//! The store a split swarm's processes share: a file store directory or a PostgreSQL schema.
//!
//! The parent opens it to submit the workload and count what is unfinished; each worker is
//! told how to open the same state (a `file:DIR` argument, or the `postgres://` spec with
//! the run's schema through the environment, since the spec carries the password and a
//! command line is visible to every user of the host). After the run the parent compares
//! what the store holds with what the workers' spans say they were told.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::coordination::{Coordinator, ExistingItem};
use crate::error::{Error, Result};
use crate::evidence::Verdict;
use crate::store::{acknowledged, audit, FileStore};
use crate::systems::postgres::{url::redact, PostgresCoordinator};
use crate::telemetry::SpanRecord;

/// The environment variable a worker reads its `--store` from (`run --store`'s default).
pub const STORE_ENV: &str = "SWARMSPEC_STORE";

/// Where a split run's state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitStore {
    /// A file store directory (created if missing).
    File(PathBuf),
    /// A `postgres://` spec. Without `?schema=` the parent makes a fresh schema, shares it
    /// with the workers and drops it when the run is over.
    Postgres(String),
}

impl SplitStore {
    /// The store as it may be shown (a password redacted).
    pub fn label(&self) -> String {
        match self {
            SplitStore::File(dir) => format!("file:{}", dir.display()),
            SplitStore::Postgres(spec) => redact(spec),
        }
    }

    /// Opens it for the parent, refusing state an earlier run left (its completions would
    /// be unexplained by this run's spans).
    pub fn open(&self, epoch_unix_ns: u64, lease_ns: u64) -> Result<OpenedStore> {
        let opened = match self {
            SplitStore::File(dir) => {
                let store = Arc::new(FileStore::open(dir, epoch_unix_ns, lease_ns)?);
                OpenedStore {
                    coordinator: Arc::clone(&store) as Arc<dyn Coordinator>,
                    backend: Backend::File(dir.clone(), store),
                }
            }
            SplitStore::Postgres(spec) => {
                let store = Arc::new(PostgresCoordinator::open(spec, epoch_unix_ns, lease_ns)?);
                OpenedStore {
                    coordinator: Arc::clone(&store) as Arc<dyn Coordinator>,
                    backend: Backend::Postgres(store),
                }
            }
        };
        let earlier = opened.items()?.len();
        if earlier > 0 {
            return Err(Error::InvalidConfig(format!(
                "{}: the store already holds {earlier} work items from an earlier run, whose \
                 completions this run's spans cannot explain; use an empty one",
                opened.label()
            )));
        }
        Ok(opened)
    }
}

enum Backend {
    File(PathBuf, Arc<FileStore>),
    Postgres(Arc<PostgresCoordinator>),
}

/// The parent's open store.
pub struct OpenedStore {
    coordinator: Arc<dyn Coordinator>,
    backend: Backend,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// How a worker is pointed at the store: a `--store` argument, or a variable to set.
#[derive(Debug, Clone)]
pub enum WorkerStore {
    /// `--store` followed by this.
    Argument(std::ffi::OsString),
    /// `STORE_ENV` set to this (it holds a password).
    Environment(String),
}

impl OpenedStore {
    /// The store as a coordinator.
    pub fn coordinator(&self) -> &dyn Coordinator {
        self.coordinator.as_ref()
    }

    /// The store as it may be shown; for PostgreSQL with the run's schema.
    pub fn label(&self) -> String {
        match &self.backend {
            Backend::File(dir, _) => format!("file:{}", dir.display()),
            Backend::Postgres(store) => redact(&store.shared_spec()),
        }
    }

    /// The PostgreSQL schema the run's state lives in, if the store is one.
    pub fn schema(&self) -> Option<&str> {
        match &self.backend {
            Backend::File(..) => None,
            Backend::Postgres(store) => Some(store.schema()),
        }
    }

    /// The store as another process may open it without being given a password: the
    /// label with the password left out (a worker that needs one brings its own URL).
    pub fn shareable_spec(&self) -> String {
        self.label().replacen(":***@", "@", 1)
    }

    /// The file store's directory, if it is one.
    pub fn dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File(dir, _) => Some(dir),
            Backend::Postgres(_) => None,
        }
    }

    /// Every item in the store.
    pub fn items(&self) -> Result<Vec<ExistingItem>> {
        match &self.backend {
            Backend::File(_, store) => store.items(),
            Backend::Postgres(store) => store.items(),
        }
    }

    /// How each worker opens the same state.
    pub fn worker_store(&self) -> WorkerStore {
        match &self.backend {
            Backend::File(dir, _) => {
                let mut argument = std::ffi::OsString::from("file:");
                argument.push(dir.as_os_str());
                WorkerStore::Argument(argument)
            }
            Backend::Postgres(store) => WorkerStore::Environment(store.shared_spec()),
        }
    }

    fn comparison(&self, spans: &[SpanRecord]) -> Result<acknowledged::Comparison> {
        match &self.backend {
            Backend::File(dir, _) => acknowledged::compare(spans, dir),
            Backend::Postgres(store) => {
                let ledger = store.ledger()?;
                Ok(acknowledged::compare_with(
                    spans,
                    ledger.completions,
                    ledger.finished,
                    &format!("schema {}", store.schema()),
                ))
            }
        }
    }

    /// The history checks the store answers with the spans: the file store's audit (for
    /// a file store), no acknowledged completion lost, and at most `in_flight_max` finished
    /// items no process was told of (0 unless a worker was killed with calls in flight).
    pub fn history_checks(&self, spans: &[SpanRecord], in_flight_max: usize) -> Vec<Verdict> {
        let mut checks = Vec::new();
        if let Some(dir) = self.dir() {
            checks.push(audit::no_anomalies(dir));
            checks.push(acknowledged::no_lost_completions(spans, dir));
            checks.push(acknowledged::unexplained_completions_at_most(
                spans,
                dir,
                in_flight_max,
            ));
            return checks;
        }
        let label = self.label();
        let comparison = self.comparison(spans);
        let again = match &comparison {
            Ok(comparison) => Ok(comparison.clone()),
            Err(error) => Err(Error::Unavailable(error.to_string())),
        };
        checks.push(acknowledged::lost_verdict(
            format!("every acknowledged completion is in the completions of {label}"),
            comparison,
        ));
        checks.push(acknowledged::unexplained_verdict(
            format!("every completed item in {label} was acknowledged to some process"),
            again,
            in_flight_max,
        ));
        checks
    }
}
