//! `postgres://…`: a `Coordinator` whose state lives in a PostgreSQL schema.
//!
//! The trait is synchronous and the swarm calls it from its own runtime's threads, so the
//! coordinator owns a small tokio runtime of its own: each call is spawned there (on a
//! pooled tokio-postgres connection) and the caller waits for its answer, with a deadline.
//! Every call is one transaction. Failures the server reports before the commit certainly
//! did not apply; serialization failures and deadlocks are retried with backoff, a broken
//! connection is replaced and the call retried; a failure *during* the commit is indefinite.

/// Each call as the statements of one transaction (the claim statement and its argument).
pub mod calls;
/// Whole-run reads: the items to attach to, and the log the history checks compare.
pub mod ledger;
/// A connection of swarmspec's own: server statistics, and backends terminated on purpose.
pub mod observer;
/// Idempotent migrations and the schema version check.
pub mod schema;
/// The spec's URL, swarmspec's own parameters, and password redaction.
pub mod url;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::RuntimeFlavor;
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

use calls::{Answer, Call, Failure};
pub use url::{Isolation, PostgresUrl, Variant};

use crate::coordination::*;
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};

/// How long one call may take, retries included, before it fails as indefinite.
const CALL_DEADLINE: Duration = Duration::from_secs(15);
/// Attempts of one call's transaction (serialization failures, deadlocks, lost connections).
const ATTEMPTS: u32 = 12;

/// A coordinator over one PostgreSQL schema.
pub struct PostgresCoordinator {
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    url: PostgresUrl,
    /// The spec as given (with its password): what other processes of the run open.
    spec: String,
    schema: String,
    /// Whether this run made the schema and drops it when done.
    owns_schema: bool,
    epoch_unix_ns: u64,
    lease_ns: u64,
    retries: std::sync::Arc<AtomicU64>,
    /// Callers waiting inside `block_in_place` now (see `wait_blocking`).
    handing_off: AtomicUsize,
}

/// A server error in words: a database error's own message and SQLSTATE, else the chain.
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn retryable(error: &tokio_postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    ) || error.is_closed()
        || error.as_db_error().is_none()
}

impl PostgresCoordinator {
    /// Connects, creates (or checks) the run's schema and readies the pool. Every refusal
    /// names the URL with its password redacted.
    pub fn open(spec: &str, epoch_unix_ns: u64, lease_ns: u64) -> Result<Self> {
        let url = PostgresUrl::parse(spec)?;
        let refuse = |problem: String| Error::System {
            system: url.redacted.clone(),
            problem,
        };
        let config = url.config()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("swarmspec-postgres")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let (schema, owns_schema) = match &url.schema {
            Some(name) => (name.clone(), false),
            None => (
                format!(
                    "swarmspec_run_{:x}_{:x}",
                    epoch_unix_ns,
                    rand::random::<u32>()
                ),
                true,
            ),
        };
        let migrate_config = config.clone();
        let migrate_schema = schema.clone();
        let migrated = wait_on(&runtime, Duration::from_secs(30), async move {
            let connect =
                tokio::time::timeout(Duration::from_secs(10), migrate_config.connect(NoTls));
            let (mut client, connection) = match connect.await {
                Err(_) => return Err("cannot connect: no answer within 10 s".to_owned()),
                Ok(Err(error)) => return Err(format!("cannot connect: {}", describe(&error))),
                Ok(Ok(pair)) => pair,
            };
            tokio::spawn(connection);
            schema::migrate(&mut client, &migrate_schema)
                .await
                .map_err(|refusal| match refusal {
                    schema::Refusal::Unusable(problem) => problem,
                    schema::Refusal::Server(error)
                        if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) =>
                    {
                        format!(
                    "cannot create or use schema «{migrate_schema}»: {} — grant this user CREATE \
                     on the database, or name a schema it may use with ?schema=",
                    describe(&error)
                )
                    }
                    schema::Refusal::Server(error) => {
                        format!(
                            "cannot prepare schema «{migrate_schema}»: {}",
                            describe(&error)
                        )
                    }
                })
        })
        .unwrap_or_else(|| Err("no answer within 30 s while preparing the schema".to_owned()));
        migrated.map_err(refuse)?;
        let mut pool_config = config;
        pool_config.options(format!("-c search_path={schema}"));
        let manager = Manager::from_config(
            pool_config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(url.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|error| refuse(format!("cannot build the connection pool: {error}")))?;
        Ok(Self {
            runtime: Some(runtime),
            pool,
            url,
            spec: spec.trim().to_owned(),
            schema,
            owns_schema,
            epoch_unix_ns,
            lease_ns,
            retries: std::sync::Arc::new(AtomicU64::new(0)),
            handing_off: AtomicUsize::new(0),
        })
    }

    /// The URL as it may be shown (password redacted).
    pub fn label(&self) -> &str {
        &self.url.redacted
    }

    /// The schema this run's rows live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Transactions retried so far (serialization failures, deadlocks, lost connections).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    fn at(&self, now_ns: u64) -> Result<i64> {
        i64::try_from(self.epoch_unix_ns.saturating_add(now_ns)).map_err(|_| {
            Error::InvalidConfig(format!(
                "time {now_ns} ns is past what PostgreSQL's bigint holds"
            ))
        })
    }

    fn id(value: u64) -> Result<i64> {
        i64::try_from(value)
            .map_err(|_| Error::InvalidConfig(format!("identifier {value} is past bigint")))
    }

    /// `wait_on` with `CALL_DEADLINE`, first telling the caller's runtime when it is a
    /// multi-threaded tokio runtime (the swarm's, on the real clock) and fewer than
    /// `pool_size` callers already did: `block_in_place` hands this worker's other tasks to
    /// another thread while this one waits. Without it every transaction's round trips and
    /// commit held a whole worker, so only as many calls as worker threads (2 on 2 cores)
    /// were ever in flight. The bound keeps the threads parked this way near the number of
    /// connections that can serve them; past it a caller waits in place, as before. A
    /// current-thread runtime (the paused clock) refuses `block_in_place`, and runs one task
    /// at a time anyway.
    fn wait_blocking<T: Send + 'static>(
        &self,
        runtime: &tokio::runtime::Runtime,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let on_multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread);
        let handed_off = on_multi_thread
            && self
                .handing_off
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                    (now < self.url.pool_size).then_some(now + 1)
                })
                .is_ok();
        if !handed_off {
            return wait_on(runtime, CALL_DEADLINE, future);
        }
        let answer = tokio::task::block_in_place(|| wait_on(runtime, CALL_DEADLINE, future));
        self.handing_off.fetch_sub(1, Ordering::AcqRel);
        answer
    }

    /// Runs `call` as one transaction on the coordinator's runtime and waits for it.
    fn execute(&self, call: Call) -> Result<Answer> {
        let Some(runtime) = &self.runtime else {
            return Err(Error::Unavailable(format!(
                "{}: coordinator closed",
                self.url.redacted
            )));
        };
        let pool = self.pool.clone();
        let (variant, isolation) = (self.url.variant, self.url.isolation);
        let label = self.url.redacted.clone();
        let counter = std::sync::Arc::clone(&self.retries);
        let answer = self.wait_blocking(runtime, async move {
            transact(&pool, &call, variant, isolation, &label, &counter).await
        });
        match answer {
            Some(answer) => answer,
            None => Err(Error::Indefinite(format!(
                "{}: no answer within {} s",
                self.url.redacted,
                CALL_DEADLINE.as_secs()
            ))),
        }
    }
}

/// Runs `future` on `runtime` and waits for it from this (synchronous) thread, which may
/// belong to another runtime: `block_on` would refuse to nest. `None` after `deadline`.
fn wait_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    deadline: Duration,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (send, receive) = mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = send.send(future.await);
    });
    receive.recv_timeout(deadline).ok()
}

/// One call's transaction, retried while its failures certainly left nothing applied.
async fn transact(
    pool: &Pool,
    call: &Call,
    variant: Variant,
    isolation: Isolation,
    label: &str,
    retried: &AtomicU64,
) -> Result<Answer> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            retried.fetch_add(1, Ordering::Relaxed);
            let backoff_us = 500u64 << attempt.min(9);
            let jitter = rand::random::<u64>() % backoff_us.max(1);
            tokio::time::sleep(Duration::from_micros(backoff_us / 2 + jitter)).await;
        }
        let mut client = match pool.get().await {
            Ok(client) => client,
            Err(error) => {
                last = format!("no connection: {error}");
                continue;
            }
        };
        let level = match isolation {
            Isolation::ReadCommitted => IsolationLevel::ReadCommitted,
            Isolation::Serializable => IsolationLevel::Serializable,
        };
        let tx = match client
            .build_transaction()
            .isolation_level(level)
            .start()
            .await
        {
            Ok(tx) => tx,
            Err(error) => {
                last = describe(&error);
                continue;
            }
        };
        match calls::run(&tx, call, variant).await {
            Ok(answer) => match tx.commit().await {
                Ok(()) => return Ok(answer),
                Err(error) if error.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE) => {
                    last = describe(&error);
                }
                Err(error) => {
                    return Err(Error::Indefinite(format!(
                        "{label}: the commit failed: {}",
                        describe(&error)
                    )))
                }
            },
            Err(Failure::Call(error)) => return Err(error),
            Err(Failure::Server(error)) if retryable(&error) => last = describe(&error),
            Err(Failure::Server(error)) => {
                return Err(Error::Unavailable(format!("{label}: {}", describe(&error))))
            }
        }
    }
    Err(Error::Unavailable(format!(
        "{label}: gave up after {ATTEMPTS} attempts: {last}"
    )))
}

impl Drop for PostgresCoordinator {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if self.owns_schema {
            let (pool, schema) = (self.pool.clone(), self.schema.clone());
            let _ = wait_on(&runtime, Duration::from_secs(5), async move {
                if let Ok(client) = pool.get().await {
                    let _ = schema::drop_schema(&client, &schema).await;
                }
            });
        }
        self.pool.close();
        runtime.shutdown_background();
    }
}

macro_rules! expect_answer {
    ($answer:expr, $variant:ident) => {
        match $answer? {
            Answer::$variant(value) => Ok(value),
            other => Err(Error::Unavailable(format!("unexpected answer {other:?}"))),
        }
    };
}

impl Coordinator for PostgresCoordinator {
    fn register_agent(&self, role: Role, team: TeamId, now_ns: u64) -> Result<AgentId> {
        let at = self.at(now_ns)?;
        expect_answer!(self.execute(Call::Register { role, team, at }), Agent)
    }
    fn submit(&self, spec: WorkSpec, now_ns: u64) -> Result<WorkId> {
        let at = self.at(now_ns)?;
        expect_answer!(self.execute(Call::Submit { spec, at }), Work)
    }
    fn peek(&self, item: WorkId) -> Result<ItemView> {
        let item = Self::id(item.0)?;
        expect_answer!(self.execute(Call::Peek { item }), View)
    }
    fn claim(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<ClaimOutcome> {
        let (agent, item, at) = (Self::id(agent.0)?, Self::id(item.0)?, self.at(now_ns)?);
        expect_answer!(self.execute(Call::Claim { agent, item, at }), Claim)
    }
    fn progress(
        &self,
        agent: AgentId,
        item: WorkId,
        percent: u8,
        now_ns: u64,
    ) -> Result<Ownership> {
        let (agent, item, at) = (Self::id(agent.0)?, Self::id(item.0)?, self.at(now_ns)?);
        let percent = i16::from(percent.min(100));
        expect_answer!(
            self.execute(Call::Progress {
                agent,
                item,
                percent,
                at
            }),
            Ownership
        )
    }
    fn complete(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<CompleteOutcome> {
        let (agent, item, at) = (Self::id(agent.0)?, Self::id(item.0)?, self.at(now_ns)?);
        expect_answer!(self.execute(Call::Complete { agent, item, at }), Complete)
    }
    fn release(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<Ownership> {
        let (agent, item, at) = (Self::id(agent.0)?, Self::id(item.0)?, self.at(now_ns)?);
        expect_answer!(self.execute(Call::Release { agent, item, at }), Ownership)
    }
    fn handoff(&self, agent: AgentId, item: WorkId, now_ns: u64) -> Result<HandoffOutcome> {
        let (agent, item, at) = (Self::id(agent.0)?, Self::id(item.0)?, self.at(now_ns)?);
        expect_answer!(self.execute(Call::Handoff { agent, item, at }), Handoff)
    }
    fn heartbeat(&self, agent: AgentId, now_ns: u64) -> Result<()> {
        let (agent, at) = (Self::id(agent.0)?, self.at(now_ns)?);
        match self.execute(Call::Heartbeat { agent, at })? {
            Answer::Done => Ok(()),
            other => Err(Error::Unavailable(format!("unexpected answer {other:?}"))),
        }
    }
    fn reap_expired(&self, now_ns: u64) -> Result<Vec<Reaped>> {
        let at = self.at(now_ns)?;
        let lease = i64::try_from(self.lease_ns).unwrap_or(i64::MAX);
        expect_answer!(self.execute(Call::Reap { at, lease }), Reaped)
    }
    fn unfinished_items(&self) -> Result<Option<usize>> {
        expect_answer!(self.execute(Call::Unfinished), Count).map(Some)
    }
}
