//! One crate-wide error type: callers so far only need to print it, not match finely.

use std::path::PathBuf;

use thiserror::Error;

use crate::compliance::access::Action;
use crate::compliance::validation::{InputField, InputProblem};
use crate::coordination::Role;

/// Everything that can go wrong in the library, as a typed value the CLI can wrap with context.
#[derive(Debug, Error)]
pub enum Error {
    /// A swarm was configured with values that cannot run (zero agents, no stages, …).
    #[error("invalid swarm configuration: {0}")]
    InvalidConfig(String),
    /// The coordinator does not know the agent named in a call.
    #[error("unknown agent {0}")]
    UnknownAgent(String),
    /// The coordinator does not know the work item named in a call.
    #[error("unknown work item {0}")]
    UnknownWorkItem(String),
    /// The coordinator refused service (an injected outage, or a real backend failure).
    #[error("coordinator unavailable: {0}")]
    Unavailable(String),
    /// A call to a system under test may or may not have taken effect (it timed out, or the
    /// system died with it in flight): the history checks treat it as "maybe", never as
    /// proof that nothing happened.
    #[error("outcome unknown, the call may have applied: {0}")]
    Indefinite(String),
    /// A system under test misbehaved at its boundary (a protocol violation, a child that
    /// exited or refused the handshake) or its config is unusable; names the system.
    #[error("{system}: {problem}")]
    System {
        /// The system spec or config file.
        system: String,
        /// What went wrong, quoting the offending line of output when there is one.
        problem: String,
    },
    /// The scenario needs something the system under test does not offer (a call, virtual
    /// time, a planted defect): it is reported not applicable, never passed.
    #[error("not applicable: {0}")]
    NotApplicable(String),
    /// The async runtime that hosts the swarm could not be built.
    #[error("could not start the swarm runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// Spans could not be read back from the in-memory exporter.
    #[error("could not read captured spans: {0}")]
    Capture(String),
    /// The span exports (an OTLP collector, a span file) could not be flushed.
    #[error("could not flush the span exports: {0}")]
    Flush(String),
    /// A deployment was configured with values that cannot run (no instances, a canary whose
    /// steps do not reach 100 %, an unknown environment, …).
    #[error("invalid deployment: {0}")]
    InvalidDeployment(String),
    /// A deploy was requested for an environment that another deploy is still changing:
    /// two rollouts interleaving on one fleet would leave it in neither version.
    #[error("deploy of {requested_version} to {environment} refused: {running_version} is still being deployed there")]
    DeployInProgress {
        /// The environment both deploys target.
        environment: String,
        /// The version whose deploy holds the environment.
        running_version: String,
        /// The version whose deploy was refused.
        requested_version: String,
    },
    /// A check was asked about evidence that is not there (e.g. no histogram for an operation).
    #[error("no evidence: {0}")]
    NoEvidence(String),
    /// The claims ledger is malformed; names the file, line and problem.
    #[error("{path}:{line}: {problem}")]
    Ledger {
        /// The ledger file.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A report or history file could not be read or written.
    #[error("{path}: {problem}")]
    Report {
        /// The file.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// An input was refused by validation; says which field and what is wrong with it, never
    /// echoing the (possibly hostile or huge) value itself.
    #[error("invalid {field}: {problem}")]
    InvalidInput {
        /// The field that was refused.
        field: InputField,
        /// What is wrong with it.
        problem: InputProblem,
    },
    /// The access policy does not grant `action` to `role`; the refusal has been audited.
    #[error("access denied: {agent} ({role}) may not {action}")]
    AccessDenied {
        /// The agent that asked.
        agent: String,
        /// Its role.
        role: Role,
        /// What it asked to do.
        action: Action,
    },
    /// A file to scan could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file store's file could not be locked, read, parsed or replaced.
    #[error("{}: {problem}", path.display())]
    Store {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A span file could not be read to its end (an I/O error, not a bad fragment: those are
    /// listed in the `IngestReport`).
    #[error("{}:{line}: {problem}", path.display())]
    Ingest {
        /// The span file.
        path: PathBuf,
        /// 1-based line the reader had reached.
        line: usize,
        /// What went wrong.
        problem: String,
    },
    /// Spans could not be exported to an OTLP collector, or its endpoint is unusable.
    #[error("OTLP export to {endpoint}: {problem}")]
    Export {
        /// The collector URL as given.
        endpoint: String,
        /// What is wrong.
        problem: String,
    },
    /// An OTLP export setting (a flag or an `OTEL_*` variable) has a value that cannot be
    /// used; the problem never repeats a header's value.
    #[error("{setting}: {problem}")]
    OtlpSetting {
        /// The flag or variable the value came from.
        setting: String,
        /// What is wrong, and what would be accepted.
        problem: String,
    },
    /// A command-adapter or process-system config is malformed; names the file, line and
    /// problem.
    #[error("{}:{line}: {problem}", path.display())]
    AdapterConfig {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the problem (0 when the file could not be read at all).
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A span mapping file (`spans check --mapping`) is malformed; names the file, line and
    /// problem, as the adapter configs do.
    #[error("{}:{line}: {problem}", path.display())]
    SpanMapping {
        /// The mapping file.
        path: PathBuf,
        /// 1-based line of the problem (0 when the file could not be read at all).
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The command adapter could not set up or finish a run (an init or submit command that
    /// failed, a run directory that cannot be created): no history to judge.
    #[error("command adapter: {0}")]
    Adapter(String),
    /// A benchmark step could not run or its child process gave no usable figures.
    #[error("benchmark: {0}")]
    Bench(String),
    /// The live view (`--serve`) could not start: an address refused, or one that is not
    /// loopback without a token.
    #[error("live view: {0}")]
    Live(String),
    /// A joined run could not start its receiver, or a worker could not join one.
    #[error("joined run: {0}")]
    Join(String),
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether a failed call certainly did not take effect. Only `Indefinite` says it may
    /// have: every other error is raised before the system could change anything, or is the
    /// system's own definite refusal.
    pub fn is_definite(&self) -> bool {
        !matches!(self, Error::Indefinite(_))
    }
}
