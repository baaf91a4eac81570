//! `process:CONFIG.toml`: a coordinator running as a child process that speaks the
//! newline-delimited JSON protocol of docs/process-protocol.md, driven through the
//! `Coordinator` trait like any other system.
//!
//! The child can be killed with SIGKILL and restarted on the same state directory, paused,
//! and slowed (`ProcessCoordinator::restart`, `pause_for`, `set_reply_delay`): what it
//! acknowledged before must still hold afterwards, and the same history checks decide.

/// The running child: pipes, calls in flight, stdout and stderr readers.
pub mod child;
/// The process config file.
pub mod config;
/// `swarmspec serve-process`: any `Coordinator` served over the protocol.
pub mod server;
/// Request lines and response decoding.
pub mod wire;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};

use super::Capabilities;
use crate::compliance::canary::ScratchDir;
use crate::coordination::{
    ClaimOutcome, CompleteOutcome, Coordinator, HandoffOutcome, ItemView, Ownership, Reaped, Role,
    TeamId, WorkSpec,
};
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};
use child::{Faults, Live};
pub use config::ProcessConfig;
use wire::{Fields, Reply, Request, CALLS, PROTOCOL_VERSION, REQUIRED_CALLS};

/// What the child said about itself in the handshake.
#[derive(Debug, Clone)]
pub struct Hello {
    /// Its name.
    pub name: String,
    /// The calls it implements.
    pub supports: BTreeSet<String>,
    /// Whether it reads time only from the requests.
    pub virtual_time: bool,
}

/// A coordinator behind the process protocol.
pub struct ProcessCoordinator {
    config: ProcessConfig,
    state: ScratchDir,
    live: RwLock<Option<Arc<Live>>>,
    faults: Arc<Faults>,
    hello: Hello,
    lease_ns: u64,
    epoch_unix_ns: u64,
    reply_delay_ns: AtomicU64,
}

impl std::fmt::Debug for ProcessCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessCoordinator")
            .field("config", &self.config.path)
            .field("hello", &self.hello)
            .finish_non_exhaustive()
    }
}

impl ProcessCoordinator {
    /// Starts the child in a fresh state directory and shakes hands with it.
    pub fn start(config: ProcessConfig, epoch_unix_ns: u64, lease_ns: u64) -> Result<Self> {
        let state = ScratchDir::new()?;
        let faults = Arc::new(Faults::default());
        let live = Live::spawn(&config, state.path(), &faults)?;
        let hello = handshake(&config, &live, &faults, epoch_unix_ns, lease_ns)
            .inspect_err(|_| live.kill())?;
        Ok(Self {
            config,
            state,
            live: RwLock::new(Some(Arc::new(live))),
            faults,
            hello,
            lease_ns,
            epoch_unix_ns,
            reply_delay_ns: AtomicU64::new(0),
        })
    }

    /// The handshake's answer.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// What the child supports, as capabilities.
    pub fn capabilities(&self) -> Capabilities {
        let has = |call: &str| self.hello.supports.contains(call);
        Capabilities {
            handoff: has("handoff"),
            heartbeat: has("heartbeat"),
            reap: has("reap"),
            peek: has("peek"),
            server_leases: has("reap"),
            count_unfinished: has("unfinished"),
            virtual_time: self.hello.virtual_time,
            planted_defects: false,
        }
    }

    /// Problems at the boundary the run did not cause on purpose (protocol errors, a child
    /// that exited by itself), and the child's last stderr lines.
    pub fn faults(&self) -> (Vec<String>, Vec<String>) {
        (self.faults.problems(), self.faults.stderr_tail())
    }

    /// Kills the child with SIGKILL (calls in flight fail as indefinite), then starts it
    /// again on the same state directory: what it acknowledged must survive.
    pub fn restart(&self) -> Result<()> {
        let old = self.write_live().take();
        if let Some(old) = old {
            old.kill();
        }
        let live = Live::spawn(&self.config, self.state.path(), &self.faults)?;
        let hello = handshake(
            &self.config,
            &live,
            &self.faults,
            self.epoch_unix_ns,
            self.lease_ns,
        )
        .inspect_err(|_| live.kill())?;
        if hello.supports != self.hello.supports {
            self.faults.record_problem(format!(
                "after a restart the child supports {:?}, before it supported {:?}",
                hello.supports, self.hello.supports
            ));
        }
        *self.write_live() = Some(Arc::new(live));
        Ok(())
    }

    /// Stops the child with SIGSTOP for `length`, then resumes it.
    pub fn pause_for(&self, length: Duration) {
        let live = self.current();
        if let Some(live) = &live {
            live.pause(true);
        }
        std::thread::sleep(length);
        if let Some(live) = &live {
            live.pause(false);
        }
    }

    /// Delays every answer by `delay` before the caller sees it (a slow system).
    pub fn set_reply_delay(&self, delay: Duration) {
        self.reply_delay_ns
            .store(delay.as_nanos() as u64, Ordering::Release);
    }

    fn write_live(&self) -> std::sync::RwLockWriteGuard<'_, Option<Arc<Live>>> {
        self.live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn current(&self) -> Option<Arc<Live>> {
        self.live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn system(&self) -> String {
        format!("process:{}", self.config.path.display())
    }

    /// One call: its success fields, or the error it means.
    fn call(&self, request: Request) -> Result<Map<String, Value>> {
        if !self.hello.supports.contains(request.name()) {
            return Err(Error::NotApplicable(format!(
                "{} has no {}",
                self.system(),
                request.name()
            )));
        }
        let live = self.current().ok_or_else(|| {
            Error::Unavailable(format!("{} is down (being restarted)", self.system()))
        })?;
        let reply = live.call(&request, self.config.call_timeout)?;
        let delay = self.reply_delay_ns.load(Ordering::Acquire);
        if delay > 0 {
            std::thread::sleep(Duration::from_nanos(delay));
        }
        match reply {
            Reply::Fields(fields) => Ok(fields),
            Reply::Error {
                kind,
                definite,
                text,
            } => Err(match (kind.as_str(), definite) {
                (_, false) => Error::Indefinite(format!("{kind}: {text}")),
                ("unknown_agent", true) => Error::UnknownAgent(text),
                ("unknown_item", true) => Error::UnknownWorkItem(text),
                ("unavailable", true) => Error::Unavailable(text),
                _ => Error::System {
                    system: self.system(),
                    problem: format!("{} refused ({kind}): {text}", request.name()),
                },
            }),
        }
    }

    /// Decodes a success response, recording a misread one as a protocol fault.
    fn decode<T>(
        &self,
        call: &str,
        fields: &Map<String, Value>,
        read: impl FnOnce(&Fields<'_>) -> std::result::Result<T, String>,
    ) -> Result<T> {
        read(&Fields(fields)).map_err(|problem| {
            let problem = format!(
                "the answer to {call} is not in the protocol: {problem}: {}",
                Value::Object(fields.clone())
            );
            self.faults.record_problem(problem.clone());
            Error::System {
                system: self.system(),
                problem,
            }
        })
    }
}

impl Drop for ProcessCoordinator {
    fn drop(&mut self) {
        if let Some(live) = self.write_live().take() {
            live.shut_down();
        }
    }
}

fn handshake(
    config: &ProcessConfig,
    live: &Live,
    faults: &Faults,
    epoch_unix_ns: u64,
    lease_ns: u64,
) -> Result<Hello> {
    let system = format!("process:{}", config.path.display());
    let fail = |problem: String| {
        let stderr = faults.stderr_tail();
        let tail = if stderr.is_empty() {
            String::new()
        } else {
            format!("; its stderr ended with:\n  {}", stderr.join("\n  "))
        };
        Error::System {
            system: system.clone(),
            problem: format!("{problem}{tail}"),
        }
    };
    let request = Request::Hello {
        lease_ns,
        epoch_unix_ns,
    };
    let reply = match live.call(&request, config.start_timeout) {
        Ok(reply) => reply,
        Err(error) => {
            // Give a dying child's stderr a moment to arrive before quoting it.
            std::thread::sleep(Duration::from_millis(50));
            let problems = faults.problems();
            let exited = live
                .exited()
                .map(|status| format!(" (it exited: {status})"));
            let reason = problems
                .last()
                .cloned()
                .unwrap_or_else(|| error.to_string());
            return Err(fail(format!(
                "the handshake failed{}: {reason}",
                exited.unwrap_or_default()
            )));
        }
    };
    let fields = match reply {
        Reply::Fields(fields) => fields,
        Reply::Error { kind, text, .. } => {
            return Err(fail(format!(
                "the child refused the hello ({kind}): {text}"
            )))
        }
    };
    let read = Fields(&fields);
    let version = read
        .number("protocol")
        .map_err(|problem| fail(format!("bad hello_ok: {problem}")))?;
    if version != PROTOCOL_VERSION {
        return Err(fail(format!(
            "the child speaks protocol {version}; swarmspec speaks {PROTOCOL_VERSION}"
        )));
    }
    let supports: BTreeSet<String> = fields
        .get("supports")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("bad hello_ok: `supports` is not a list of call names".into()))?
        .iter()
        .filter_map(Value::as_str)
        .filter(|call| CALLS.contains(call))
        .map(str::to_owned)
        .collect();
    let missing: Vec<&str> = REQUIRED_CALLS
        .into_iter()
        .filter(|call| !supports.contains(*call))
        .collect();
    if !missing.is_empty() {
        return Err(fail(format!(
            "the child does not support {}, which every swarm needs",
            missing.join(", ")
        )));
    }
    Ok(Hello {
        name: read
            .text("name")
            .map_or_else(|_| config.name.clone(), str::to_owned),
        supports,
        virtual_time: fields
            .get("virtual_time")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

impl Coordinator for ProcessCoordinator {
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId> {
        let fields = self.call(Request::Register(role, team, now_ns))?;
        self.decode("register", &fields, |f| f.number("agent").map(AgentId))
    }

    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        let fields = self.call(Request::Submit(spec, now_ns))?;
        self.decode("submit", &fields, |f| f.number("item").map(WorkId))
    }

    fn peek(&self, item: WorkId) -> Result<ItemView> {
        let fields = self.call(Request::Peek(item))?;
        self.decode("peek", &fields, |f| f.view())
    }

    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        let fields = self.call(Request::Claim(agent, item, now_ns))?;
        self.decode("claim", &fields, |f| f.claim())
    }

    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        let fields = self.call(Request::Progress(agent, item, percent.min(100), now_ns))?;
        self.decode("progress", &fields, |f| f.ownership())
    }

    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        let fields = self.call(Request::Complete(agent, item, now_ns))?;
        self.decode("complete", &fields, |f| f.complete())
    }

    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        let fields = self.call(Request::Release(agent, item, now_ns))?;
        self.decode("release", &fields, |f| f.ownership())
    }

    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        let fields = self.call(Request::Handoff(agent, item, now_ns))?;
        self.decode("handoff", &fields, |f| f.handoff())
    }

    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        self.call(Request::Heartbeat(agent, now_ns)).map(drop)
    }

    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        let fields = self.call(Request::Reap(now_ns))?;
        self.decode("reap", &fields, |f| f.reaped())
    }

    fn unfinished_items(&self) -> Result<Option<usize>> {
        if !self.hello.supports.contains("unfinished") {
            return Ok(None);
        }
        let fields = self.call(Request::Unfinished)?;
        let count = self.decode("unfinished", &fields, |f| f.number("count"))?;
        Ok(Some(usize::try_from(count).unwrap_or(usize::MAX)))
    }
}
