//! Reads of a whole run's rows, outside the `Coordinator` trait: the items a worker that
//! attaches to the schema works on, and what the database holds for the history checks
//! (the completions log and the items it shows done), so a split run can compare them with
//! what the workers' spans say they were told.

use deadpool_postgres::Object;

use super::{describe, PostgresCoordinator, CALL_DEADLINE};
use crate::coordination::{ExistingItem, TeamId};
use crate::error::{Error, Result};
use crate::ids::{AgentId, WorkId};

/// (item, stage, agent) of one completed stage, in the spans' text forms.
pub type Completion = (String, usize, String);

/// What the schema holds, for the history checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Every row of the completions log.
    pub completions: Vec<Completion>,
    /// Each item whose last stage is done, with that stage.
    pub finished: Vec<(String, usize)>,
}

impl PostgresCoordinator {
    /// The spec other processes open to share this run's schema: the one given, with
    /// `schema=` added when the schema was made here. It carries the password: pass it
    /// through the environment, never a command line or a report.
    pub fn shared_spec(&self) -> String {
        if self.url.schema.is_some() {
            return self.spec.clone();
        }
        let joint = if self.spec.contains('?') { '&' } else { '?' };
        format!("{}{joint}schema={}", self.spec, self.schema)
    }

    /// Every item in the schema (what a worker attaching to the run works on).
    pub fn items(&self) -> Result<Vec<ExistingItem>> {
        self.read("reading the items", read_items)
    }

    /// The completions log and the finished items, for the history checks.
    pub fn ledger(&self) -> Result<Ledger> {
        self.read("reading the completions", read_ledger)
    }

    /// One read on a pooled connection, outside the trait's calls.
    fn read<T, F>(&self, what: &str, job: fn(deadpool_postgres::Object) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>
            + Send
            + 'static,
    {
        let Some(runtime) = &self.runtime else {
            return Err(Error::Unavailable(format!(
                "{}: coordinator closed",
                self.url.redacted
            )));
        };
        let pool = self.pool.clone();
        let answer = self.wait_blocking(runtime, async move {
            let client = pool.get().await.map_err(|error| error.to_string())?;
            job(client).await.map_err(|error| describe(&error))
        });
        match answer {
            Some(Ok(value)) => Ok(value),
            Some(Err(problem)) => Err(Error::Unavailable(format!(
                "{}: {what}: {problem}",
                self.url.redacted
            ))),
            None => Err(Error::Indefinite(format!(
                "{}: {what}: no answer within {} s",
                self.url.redacted,
                CALL_DEADLINE.as_secs()
            ))),
        }
    }
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn stage(value: i32) -> usize {
    usize::try_from(value).unwrap_or(0)
}

/// Every item of the schema, in id order.
pub async fn read_items(
    client: Object,
) -> std::result::Result<Vec<ExistingItem>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT id, team, stage, status = 'done' FROM items ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| ExistingItem {
            item: WorkId(unsigned(row.get(0))),
            team: TeamId(u32::try_from(row.get::<_, i32>(1)).unwrap_or(0)),
            stage: stage(row.get(2)),
            finished: row.get(3),
        })
        .collect())
}

/// The completions log and the finished items, read in one snapshot.
pub async fn read_ledger(mut client: Object) -> std::result::Result<Ledger, tokio_postgres::Error> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let completions = tx
        .query("SELECT item, stage, agent FROM completions", &[])
        .await?
        .iter()
        .map(|row| {
            (
                WorkId(unsigned(row.get(0))).to_string(),
                stage(row.get(1)),
                AgentId(unsigned(row.get(2))).to_string(),
            )
        })
        .collect();
    let finished = tx
        .query("SELECT id, stage FROM items WHERE status = 'done'", &[])
        .await?
        .iter()
        .map(|row| (WorkId(unsigned(row.get(0))).to_string(), stage(row.get(1))))
        .collect();
    tx.commit().await?;
    Ok(Ledger {
        completions,
        finished,
    })
}
