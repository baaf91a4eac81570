//! Each `Coordinator` call as the statements of one transaction.
//!
//! Lock order is the same in every call that writes: the caller's `agents` row first (its
//! sign of life), then `items` rows. Reaping locks stale agents' rows before their items,
//! so a reap and a claim by the same agent queue behind each other instead of deadlocking.
//!
//! The claim is one conditional `UPDATE … WHERE status = 'open' AND <role matches> …
//! RETURNING stage`. At READ COMMITTED a second claimer of the same row waits for the first
//! one's row lock, and PostgreSQL then re-evaluates the `WHERE` on the row version the first
//! committed: it no longer says `open`, so the second updates nothing and reads a conflict.
//! One winner per item and stage, with no retry and no stronger isolation needed.

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::url::Variant;
use crate::coordination::*;
use crate::error::Error;
use crate::ids::{AgentId, WorkId};

/// One call, with its times already absolute (Unix nanoseconds).
#[derive(Debug, Clone)]
pub enum Call {
    Register {
        role: Role,
        team: TeamId,
        at: i64,
    },
    Submit {
        spec: WorkSpec,
        at: i64,
    },
    Peek {
        item: i64,
    },
    Claim {
        agent: i64,
        item: i64,
        at: i64,
    },
    Progress {
        agent: i64,
        item: i64,
        percent: i16,
        at: i64,
    },
    Complete {
        agent: i64,
        item: i64,
        at: i64,
    },
    Release {
        agent: i64,
        item: i64,
        at: i64,
    },
    Handoff {
        agent: i64,
        item: i64,
        at: i64,
    },
    Heartbeat {
        agent: i64,
        at: i64,
    },
    Reap {
        at: i64,
        lease: i64,
    },
    Unfinished,
}

/// A call's answer in the trait's vocabulary.
#[derive(Debug, Clone)]
pub enum Answer {
    Agent(AgentId),
    Work(WorkId),
    View(ItemView),
    Claim(ClaimOutcome),
    Ownership(Ownership),
    Complete(CompleteOutcome),
    Handoff(HandoffOutcome),
    Done,
    Reaped(Vec<Reaped>),
    Count(usize),
}

/// Why a call's transaction did not give an answer.
#[derive(Debug)]
pub enum Failure {
    /// The server or the connection failed (maybe retryable).
    Server(tokio_postgres::Error),
    /// The call itself is wrong (an unknown agent or item, a row swarmspec cannot read).
    Call(Error),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Failure::Server(error)
    }
}

type Outcome<T> = std::result::Result<T, Failure>;

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn role_named(text: &str) -> Outcome<Role> {
    Role::parse(text).ok_or_else(|| {
        Failure::Call(Error::InvalidConfig(format!(
            "unknown role «{text}» in the database"
        )))
    })
}

fn team_of(row: &Row, column: &str) -> TeamId {
    TeamId(u32::try_from(row.get::<_, i32>(column)).unwrap_or(0))
}

/// Runs `call` inside `tx`; the caller commits.
pub async fn run(tx: &Transaction<'_>, call: &Call, variant: Variant) -> Outcome<Answer> {
    match call {
        Call::Register { role, team, at } => {
            let id = next_id(tx, "agent", *at).await?;
            let team = i32::try_from(team.0).unwrap_or(i32::MAX);
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO agents (id, role, team, last_seen_ns) VALUES ($1, $2, $3, $4)",
                )
                .await?;
            tx.execute(&stmt, &[&id, &role.as_str(), &team, at]).await?;
            Ok(Answer::Agent(AgentId(unsigned(id))))
        }
        Call::Submit { spec, at } => {
            if spec.pipeline.is_empty() {
                return Err(Failure::Call(Error::InvalidConfig(
                    "a work pipeline needs at least 1 stage".into(),
                )));
            }
            let id = next_id(tx, "item", *at).await?;
            let team = i32::try_from(spec.team.0).unwrap_or(i32::MAX);
            let pipeline: Vec<&str> = spec.pipeline.iter().map(|role| role.as_str()).collect();
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO items (id, team, work_type, pipeline) VALUES ($1, $2, $3, $4)",
                )
                .await?;
            tx.execute(&stmt, &[&id, &team, &spec.work_type, &pipeline])
                .await?;
            Ok(Answer::Work(WorkId(unsigned(id))))
        }
        Call::Peek { item } => peek(tx, *item).await.map(Answer::View),
        Call::Claim { agent, item, at } => {
            let role = touch(tx, *agent, *at).await?;
            let outcome = match variant {
                Variant::Correct => claim_conditional(tx, *agent, *item, &role, *at).await?,
                Variant::ReadThenWrite => {
                    claim_read_then_write(tx, *agent, *item, &role, *at).await?
                }
            };
            Ok(Answer::Claim(outcome))
        }
        Call::Progress {
            agent,
            item,
            percent,
            at,
        } => {
            touch(tx, *agent, *at).await?;
            let stmt = tx
                .prepare_cached("UPDATE items SET progress = $3 WHERE id = $2 AND holder = $1 AND status = 'claimed'")
                .await?;
            let changed = tx.execute(&stmt, &[agent, item, percent]).await?;
            ownership(tx, *item, changed).await
        }
        Call::Release { agent, item, at } => {
            touch(tx, *agent, *at).await?;
            let stmt = tx
                .prepare_cached(
                    "UPDATE items SET status = 'open', holder = NULL, progress = 0, claimed_at_ns = NULL \
                     WHERE id = $2 AND holder = $1 AND status = 'claimed'",
                )
                .await?;
            let changed = tx.execute(&stmt, &[agent, item]).await?;
            ownership(tx, *item, changed).await
        }
        Call::Complete { agent, item, at } => complete(tx, *agent, *item, *at).await,
        Call::Handoff { agent, item, at } => {
            touch(tx, *agent, *at).await?;
            let stmt = tx
                .prepare_cached(
                    "UPDATE items SET stage = stage + 1, status = 'open', holder = NULL, progress = 0, \
                     claimed_at_ns = NULL WHERE id = $2 AND holder = $1 AND status = 'stage_done' \
                     AND stage + 1 < cardinality(pipeline) RETURNING stage, pipeline[stage + 1] AS role",
                )
                .await?;
            match tx.query_opt(&stmt, &[agent, item]).await? {
                Some(row) => Ok(Answer::Handoff(HandoffOutcome::HandedOff {
                    stage: usize::try_from(row.get::<_, i32>("stage")).unwrap_or(0),
                    role: role_named(row.get("role"))?,
                })),
                None => {
                    peek(tx, *item).await?;
                    Ok(Answer::Handoff(HandoffOutcome::Refused))
                }
            }
        }
        Call::Heartbeat { agent, at } => {
            touch(tx, *agent, *at).await?;
            Ok(Answer::Done)
        }
        Call::Reap { at, lease } => reap(tx, *at, *lease).await.map(Answer::Reaped),
        Call::Unfinished => {
            let stmt = tx
                .prepare_cached("SELECT count(*) FROM items WHERE status <> 'done'")
                .await?;
            let count: i64 = tx.query_one(&stmt, &[]).await?.get(0);
            Ok(Answer::Count(usize::try_from(count).unwrap_or(0)))
        }
    }
}

/// The next identifier of `kind`: `max(at, last + 1)`, decided under the counter's row lock
/// so processes sharing the schema never issue the same one.
async fn next_id(tx: &Transaction<'_>, kind: &str, at: i64) -> Outcome<i64> {
    let stmt = tx
        .prepare_cached(
            "UPDATE ids SET last = GREATEST(last + 1, $2) WHERE kind = $1 RETURNING last",
        )
        .await?;
    Ok(tx.query_one(&stmt, &[&kind, &at]).await?.get(0))
}

/// Marks the agent alive at `at` (locking its row) and returns its role.
async fn touch(tx: &Transaction<'_>, agent: i64, at: i64) -> Outcome<String> {
    let stmt = tx
        .prepare_cached("UPDATE agents SET last_seen_ns = GREATEST(last_seen_ns, $2) WHERE id = $1 RETURNING role")
        .await?;
    match tx.query_opt(&stmt, &[&agent, &at]).await? {
        Some(row) => Ok(row.get(0)),
        None => Err(Failure::Call(Error::UnknownAgent(
            AgentId(unsigned(agent)).to_string(),
        ))),
    }
}

async fn peek(tx: &Transaction<'_>, item: i64) -> Outcome<ItemView> {
    let stmt = tx
        .prepare_cached("SELECT status, stage, pipeline[stage + 1] AS role, team, holder FROM items WHERE id = $1")
        .await?;
    let Some(row) = tx.query_opt(&stmt, &[&item]).await? else {
        return Err(Failure::Call(Error::UnknownWorkItem(
            WorkId(unsigned(item)).to_string(),
        )));
    };
    let status = match row.get::<_, &str>("status") {
        "claimed" => ItemStatus::Claimed,
        "stage_done" => ItemStatus::StageDone,
        "done" => ItemStatus::Done,
        _ => ItemStatus::Open,
    };
    Ok(ItemView {
        status,
        stage: usize::try_from(row.get::<_, i32>("stage")).unwrap_or(0),
        role: role_named(row.get::<_, Option<&str>>("role").unwrap_or(""))?,
        team: team_of(&row, "team"),
        holder: row
            .get::<_, Option<i64>>("holder")
            .map(|h| AgentId(unsigned(h))),
    })
}

/// Why a claim that changed nothing lost: the wrong role, else someone holds it.
async fn lost_claim(tx: &Transaction<'_>, item: i64, role: &str) -> Outcome<ClaimOutcome> {
    let view = peek(tx, item).await?;
    if view.role.as_str() != role {
        return Ok(ClaimOutcome::WrongRole { needed: view.role });
    }
    Ok(ClaimOutcome::Conflict {
        holder: view.holder,
    })
}

/// The claim: one conditional statement (see the module's doc for why it is enough).
async fn claim_conditional(
    tx: &Transaction<'_>,
    agent: i64,
    item: i64,
    role: &str,
    at: i64,
) -> Outcome<ClaimOutcome> {
    let stmt = tx
        .prepare_cached(
            "UPDATE items SET status = 'claimed', holder = $1, progress = 0, claimed_at_ns = $4 \
             WHERE id = $2 AND status = 'open' AND pipeline[stage + 1] = $3 RETURNING stage",
        )
        .await?;
    match tx.query_opt(&stmt, &[&agent, &item, &role, &at]).await? {
        Some(row) => Ok(ClaimOutcome::Claimed {
            stage: usize::try_from(row.get::<_, i32>(0)).unwrap_or(0),
        }),
        None => lost_claim(tx, item, role).await,
    }
}

/// THE DELIBERATE BUG (`?variant=read-then-write`): reads the item, decides in the client,
/// then writes the holder unconditionally. At READ COMMITTED two claimers can both read
/// `open` before either writes; the second write waits for the first's row lock and then
/// overwrites it, and both callers are told they won.
async fn claim_read_then_write(
    tx: &Transaction<'_>,
    agent: i64,
    item: i64,
    role: &str,
    at: i64,
) -> Outcome<ClaimOutcome> {
    let view = peek(tx, item).await?;
    if view.role.as_str() != role {
        return Ok(ClaimOutcome::WrongRole { needed: view.role });
    }
    if view.status != ItemStatus::Open {
        return Ok(ClaimOutcome::Conflict {
            holder: view.holder,
        });
    }
    // Widens the window between the read and the write, as real client code (a network hop,
    // a log line) does; without it the race is real but rare on one machine.
    tokio::time::sleep(std::time::Duration::from_micros(200)).await;
    let stmt = tx
        .prepare_cached("UPDATE items SET status = 'claimed', holder = $1, progress = 0, claimed_at_ns = $3 WHERE id = $2")
        .await?;
    tx.execute(&stmt, &[&agent, &item, &at]).await?;
    Ok(ClaimOutcome::Claimed { stage: view.stage })
}

/// `Held` when a holder-conditioned update changed the row, else `LeaseLost` (after checking
/// the item exists at all).
async fn ownership(tx: &Transaction<'_>, item: i64, changed: u64) -> Outcome<Answer> {
    if changed == 0 {
        peek(tx, item).await?;
        return Ok(Answer::Ownership(Ownership::LeaseLost));
    }
    Ok(Answer::Ownership(Ownership::Held))
}

async fn complete(tx: &Transaction<'_>, agent: i64, item: i64, at: i64) -> Outcome<Answer> {
    touch(tx, agent, at).await?;
    let stmt = tx
        .prepare_cached(
            "UPDATE items SET progress = 100, status = CASE WHEN stage + 1 < cardinality(pipeline) \
             THEN 'stage_done' ELSE 'done' END WHERE id = $2 AND holder = $1 AND status = 'claimed' \
             RETURNING stage, pipeline[stage + 2] AS next",
        )
        .await?;
    let Some(row) = tx.query_opt(&stmt, &[&agent, &item]).await? else {
        peek(tx, item).await?;
        return Ok(Answer::Complete(CompleteOutcome::LeaseLost));
    };
    let stage: i32 = row.get("stage");
    let next = match row.get::<_, Option<&str>>("next") {
        Some(text) => Some(role_named(text)?),
        None => None,
    };
    let log = tx
        .prepare_cached("INSERT INTO completions (item, stage, agent, at_ns, last_stage) VALUES ($1, $2, $3, $4, $5)")
        .await?;
    tx.execute(&log, &[&item, &stage, &agent, &at, &next.is_none()])
        .await?;
    Ok(Answer::Complete(CompleteOutcome::Completed {
        stage: usize::try_from(stage).unwrap_or(0),
        next,
    }))
}

/// Reopens the items of every agent silent for a whole lease. The stale agents' rows are
/// locked first (`FOR UPDATE`): a heartbeat that commits meanwhile makes PostgreSQL re-check
/// the row, and an agent that spoke in time is no longer stale.
async fn reap(tx: &Transaction<'_>, at: i64, lease: i64) -> Outcome<Vec<Reaped>> {
    let stmt = tx
        .prepare_cached(
            "WITH stale AS (SELECT id FROM agents WHERE last_seen_ns <= $1::bigint - $2::bigint ORDER BY id FOR UPDATE) \
             UPDATE items SET status = 'open', holder = NULL, progress = 0, claimed_at_ns = NULL \
             FROM stale WHERE items.holder = stale.id AND items.status = 'claimed' \
             RETURNING items.id, stale.id AS holder, items.stage",
        )
        .await?;
    let mut reaped: Vec<Reaped> = tx
        .query(&stmt, &[&at, &lease])
        .await?
        .iter()
        .map(|row| Reaped {
            item: WorkId(unsigned(row.get(0))),
            previous_holder: AgentId(unsigned(row.get(1))),
            stage: usize::try_from(row.get::<_, i32>(2)).unwrap_or(0),
        })
        .collect();
    reaped.sort_by_key(|r| r.item);
    Ok(reaped)
}
