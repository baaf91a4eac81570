//! What only a database can get wrong: scenarios on a real PostgreSQL server, with the
//! server crashed and restarted, connections terminated mid-transaction, and every
//! transaction serializable.
//!
//! The server is the suite's system when that is a `postgres://` one (`verify --system`),
//! else the one `SWARMSPEC_POSTGRES_URL` names (`scripts/pg-throwaway --` sets it); with
//! neither the scenario is not applicable, loudly. The faults and the counts the checks read
//! come from swarmspec's own connection (`systems::postgres::observer`), never from the
//! coordinator under test.

use std::sync::atomic::{AtomicU64, Ordering};

use cucumber::{given, then};

use super::parameters::Compare;
use super::SwarmWorld;
use crate::evidence::Verdict;
use crate::systems::postgres::observer::with_application_name;
use crate::systems::SystemSpec;

/// The server the database scenarios run against, when the suite names none.
pub const POSTGRES_URL: &str = "SWARMSPEC_POSTGRES_URL";
/// A command that crash-restarts that server and returns once it accepts connections.
pub const POSTGRES_RESTART: &str = "SWARMSPEC_POSTGRES_RESTART";

/// A fault done to the database server while a run goes, when a share of the items is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DatabaseFault {
    /// Run the restart command (`pg_ctl restart -m immediate`: a crash and WAL recovery).
    CrashRestart {
        /// Share of items finished (0–1) when it happens.
        at: f64,
    },
    /// Terminate the run's backends that are inside a transaction until this many died.
    DropConnections {
        /// Backends to terminate, at least.
        count: u64,
        /// Share of items finished (0–1) when it starts.
        at: f64,
    },
}

/// What the scenario asked of the database, and what its last run measured.
#[derive(Debug, Default)]
pub struct DatabaseState {
    /// Set once the scenario names the PostgreSQL server.
    pub planned: bool,
    /// Faults to do during the next run.
    pub faults: Vec<DatabaseFault>,
    /// What the last run's observer counted.
    pub report: Option<DatabaseReport>,
}

/// Counts from swarmspec's own connection to the server over one run.
#[derive(Debug, Clone, Default)]
pub struct DatabaseReport {
    /// Crash-restarts done.
    pub restarts: u32,
    /// Backends terminated inside a transaction.
    pub dropped: u64,
    /// Transactions the server rolled back in the run's database during the run; `None`
    /// when a restart reset the server's statistics.
    pub rolled_back: Option<u64>,
}

fn share(percent: u32) -> anyhow::Result<f64> {
    anyhow::ensure!(
        (1..=99).contains(&percent),
        "the share of items done must be 1 to 99 %, got {percent} %"
    );
    Ok(f64::from(percent) / 100.0)
}

fn not_applicable(world: &mut SwarmWorld, why: String) -> anyhow::Error {
    eprintln!("warning: {why}: the scenario is not applicable");
    world.not_applicable = Some(why.clone());
    anyhow::anyhow!("not applicable: {why}")
}

/// Runs this scenario against the suite's PostgreSQL server, else `SWARMSPEC_POSTGRES_URL`'s.
#[given("the system under test is the PostgreSQL server named by SWARMSPEC_POSTGRES_URL")]
fn postgres_server(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let suite = super::systems::SYSTEM_OVERRIDE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let system = match (suite, std::env::var(POSTGRES_URL)) {
        (Some(system @ SystemSpec::Postgres(_)), _) => system,
        (_, Ok(text)) if !text.trim().is_empty() => SystemSpec::parse(&text)?,
        _ => {
            return Err(not_applicable(
                world,
                format!(
                    "this scenario needs a PostgreSQL server: run with `verify --system \
                     postgres://…` or set {POSTGRES_URL} (`scripts/pg-throwaway -- swarmspec \
                     verify` does)"
                ),
            ))
        }
    };
    world.system_label = system.label();
    world.system = Some(system);
    world.database.planned = true;
    Ok(())
}

/// Every transaction of the coordinator runs SERIALIZABLE (`?isolation=serializable`).
#[given("every transaction of the database runs serializable")]
fn serializable(world: &mut SwarmWorld) -> anyhow::Result<()> {
    match &world.system {
        Some(SystemSpec::Postgres(url)) if world.database.planned => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let spec = format!("{url}{separator}isolation=serializable");
            world.system = Some(SystemSpec::parse(&spec)?);
            Ok(())
        }
        _ => anyhow::bail!(
            "no PostgreSQL server is named yet: put `Given the system under test is the \
             PostgreSQL server named by SWARMSPEC_POSTGRES_URL` first"
        ),
    }
}

/// Crash-restarts the server with `SWARMSPEC_POSTGRES_RESTART` once that share is done.
#[given(expr = "the database server crashes and restarts when {int}% of the items are done")]
fn crash_restart(world: &mut SwarmWorld, percent: u32) -> anyhow::Result<()> {
    let at = share(percent)?;
    if std::env::var_os(POSTGRES_RESTART).is_none_or(|command| command.is_empty()) {
        return Err(not_applicable(
            world,
            format!(
                "restarting the server needs {POSTGRES_RESTART}, a command that crash-restarts \
                 it (`scripts/pg-throwaway --` sets one)"
            ),
        ));
    }
    world
        .database
        .faults
        .push(DatabaseFault::CrashRestart { at });
    Ok(())
}

/// Terminates the run's backends mid-transaction, from that share on, until `count` died.
#[given(
    expr = "the database drops {int} connection(s) mid-transaction from when {int}% of the items are done"
)]
fn drop_connections(world: &mut SwarmWorld, count: u64, percent: u32) -> anyhow::Result<()> {
    let at = share(percent)?;
    anyhow::ensure!(count > 0, "dropping 0 connections is no fault");
    world
        .database
        .faults
        .push(DatabaseFault::DropConnections { count, at });
    Ok(())
}

fn report(world: &SwarmWorld) -> anyhow::Result<&DatabaseReport> {
    world.database.report.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "no database run was observed: this check needs `Given the system under test is \
             the PostgreSQL server named by SWARMSPEC_POSTGRES_URL` and a `When the swarm runs`"
        )
    })
}

/// Backends the observer terminated inside a transaction during the run.
#[then(expr = "{comparison} {int} connection(s) was/were dropped mid-transaction")]
fn dropped(world: &mut SwarmWorld, how: Compare, n: u64) -> anyhow::Result<()> {
    let observed = report(world)?.dropped;
    let expected = how.count(n);
    let verdict = Verdict::new(
        "backends terminated inside a transaction (pg_terminate_backend, by swarmspec)",
        expected.holds(observed),
        expected.describe(),
        observed.to_string(),
        Vec::new(),
    );
    world.judge(verdict)
}

/// Transactions the server itself counted as rolled back in the run's database.
#[then(expr = "the database server rolled back {comparison} {int} transaction(s) during the run")]
fn rolled_back(world: &mut SwarmWorld, how: Compare, n: u64) -> anyhow::Result<()> {
    let Some(observed) = report(world)?.rolled_back else {
        anyhow::bail!(
            "the server restarted during the run, which resets its statistics: rollbacks \
             cannot be counted"
        );
    };
    let expected = how.count(n);
    let verdict = Verdict::new(
        "transactions rolled back in the run's database (pg_stat_database.xact_rollback, \
         before and after the run)",
        expected.holds(observed),
        expected.describe(),
        observed.to_string(),
        vec!["counted database-wide: another client of the same database adds to it".to_owned()],
    );
    world.judge(verdict)
}

/// The system to open for a scenario that named the server: its spec with an
/// `application_name` of this run's own, so the observer can find its backends.
pub fn named_for_run(system: &SystemSpec) -> Option<(SystemSpec, String)> {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let SystemSpec::Postgres(url) = system else {
        return None;
    };
    let application = format!(
        "swarmspec-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let named = SystemSpec::Postgres(with_application_name(url, &application));
    Some((named, application))
}
