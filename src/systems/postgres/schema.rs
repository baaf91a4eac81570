//! The run's schema: created on first open, checked on every later one.
//!
//! Migrations run in one transaction under an advisory lock, so processes joining the same
//! schema at once create it exactly once, and reopening a current schema changes nothing.
//! A schema swarmspec did not make, or made at another version, is refused by name rather
//! than used: its rows would not mean what this version's calls assume.

use tokio_postgres::Client;

/// The version of the tables below; bump it with any change to them.
pub const SCHEMA_VERSION: i32 = 1;

/// The tables of one run. Times are absolute Unix nanoseconds (the run's epoch plus the
/// caller's `now_ns`), so processes with their own run clocks agree on leases.
const TABLES: &str = "
CREATE TABLE ids (kind text PRIMARY KEY, last bigint NOT NULL);
INSERT INTO ids VALUES ('agent', 0), ('item', 0);
CREATE TABLE agents (
    id bigint PRIMARY KEY,
    role text NOT NULL,
    team integer NOT NULL,
    last_seen_ns bigint NOT NULL
);
CREATE TABLE items (
    id bigint PRIMARY KEY,
    team integer NOT NULL,
    work_type text NOT NULL,
    pipeline text[] NOT NULL CHECK (cardinality(pipeline) > 0),
    stage integer NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'claimed', 'stage_done', 'done')),
    holder bigint REFERENCES agents (id),
    progress smallint NOT NULL DEFAULT 0,
    claimed_at_ns bigint
);
CREATE INDEX items_held ON items (holder) WHERE status = 'claimed';
CREATE INDEX items_unfinished ON items (id) WHERE status <> 'done';
CREATE TABLE completions (
    item bigint NOT NULL REFERENCES items (id),
    stage integer NOT NULL,
    agent bigint NOT NULL REFERENCES agents (id),
    at_ns bigint NOT NULL,
    last_stage boolean NOT NULL
);
CREATE INDEX completions_item ON completions (item, stage);
";

/// Why a schema cannot be used (the caller adds the URL).
#[derive(Debug)]
pub enum Refusal {
    /// The server said no (rights, connection, …).
    Server(tokio_postgres::Error),
    /// The schema is not one this version can use.
    Unusable(String),
}

impl From<tokio_postgres::Error> for Refusal {
    fn from(error: tokio_postgres::Error) -> Self {
        Refusal::Server(error)
    }
}

/// Creates `schema` at the current version, or checks that it already is.
pub async fn migrate(client: &mut Client, schema: &str) -> Result<(), Refusal> {
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext('swarmspec:' || $1))",
            &[&schema],
        )
        .await?;
    let exists = transaction
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await?
        .is_some();
    if !exists {
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; SET LOCAL search_path = {schema}; {TABLES} \
                 CREATE TABLE swarmspec_schema (version integer NOT NULL); \
                 INSERT INTO swarmspec_schema VALUES ({SCHEMA_VERSION});"
            ))
            .await?;
        transaction.commit().await?;
        return Ok(());
    }
    let marked = transaction
        .query_opt(
            "SELECT to_regclass(quote_ident($1) || '.swarmspec_schema')::text",
            &[&schema],
        )
        .await?
        .and_then(|row| row.get::<_, Option<String>>(0));
    if marked.is_none() {
        return Err(Refusal::Unusable(format!(
            "schema «{schema}» exists but swarmspec did not make it (no swarmspec_schema \
             table): name another with ?schema="
        )));
    }
    let version: Option<i32> = transaction
        .query_opt(
            &format!("SELECT max(version) FROM {schema}.swarmspec_schema"),
            &[],
        )
        .await?
        .and_then(|row| row.get(0));
    match version {
        Some(SCHEMA_VERSION) => Ok(()),
        other => Err(Refusal::Unusable(format!(
            "schema «{schema}» was made by a swarmspec of schema version {}, and this one \
             speaks version {SCHEMA_VERSION}: drop it (DROP SCHEMA {schema} CASCADE) or \
             name another with ?schema=",
            other.map_or("unknown".to_owned(), |v| v.to_string())
        ))),
    }
}

/// Removes a run's own schema when the run is done.
pub async fn drop_schema(client: &Client, schema: &str) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
}
