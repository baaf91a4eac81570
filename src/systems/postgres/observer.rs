//! The server seen from outside the coordinator: a connection of swarmspec's own that reads
//! the server's statistics and terminates the coordinator's backends on purpose.
//!
//! The fault scenarios need both sides of a claim to come from somewhere the coordinator
//! cannot speak for: "a connection was dropped mid-transaction" is counted here, by the
//! `pg_terminate_backend` calls that returned true, and "transactions were rolled back"
//! is the server's own `pg_stat_database.xact_rollback`, read before and after the run.
//! Backends are picked by `application_name`, which the run's URL sets, so an observer
//! never touches another client of the same server.

use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use super::url::PostgresUrl;
use super::{describe, wait_on};
use crate::error::{Error, Result};

/// How long one observer query may take.
const QUERY_DEADLINE: Duration = Duration::from_secs(10);

/// One connection to the server under test, owned by swarmspec.
pub struct Observer {
    runtime: tokio::runtime::Runtime,
    client: std::sync::Arc<tokio_postgres::Client>,
    label: String,
}

impl Observer {
    /// Connects to the server `spec` names (swarmspec's own parameters are ignored).
    pub fn connect(spec: &str) -> Result<Self> {
        let url = PostgresUrl::parse(spec)?;
        let refuse = |problem: String| Error::System {
            system: url.redacted.clone(),
            problem,
        };
        let config = url.config()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("swarmspec-pg-observer")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let connected = wait_on(&runtime, QUERY_DEADLINE, async move {
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(|error| describe(&error))?;
            tokio::spawn(connection);
            Ok::<_, String>(client)
        })
        .unwrap_or_else(|| Err("no answer while connecting".to_owned()))
        .map_err(|problem| refuse(format!("the observer cannot connect: {problem}")))?;
        Ok(Self {
            runtime,
            client: std::sync::Arc::new(connected),
            label: url.redacted,
        })
    }

    fn query_one_i64(&self, sql: &'static str, name: Option<String>) -> Result<i64> {
        let client = std::sync::Arc::clone(&self.client);
        let answer = wait_on(&self.runtime, QUERY_DEADLINE, async move {
            let row = match &name {
                Some(name) => client.query_one(sql, &[name]).await,
                None => client.query_one(sql, &[]).await,
            };
            row.and_then(|row| row.try_get::<_, i64>(0))
                .map_err(|error| describe(&error))
        })
        .unwrap_or_else(|| Err("no answer".to_owned()));
        answer.map_err(|problem| Error::System {
            system: self.label.clone(),
            problem: format!("the observer's query failed: {problem}"),
        })
    }

    /// Runs `sql` (one or more statements, no parameters) on the observer's connection.
    pub fn batch(&self, sql: &str) -> Result<()> {
        let (client, sql) = (std::sync::Arc::clone(&self.client), sql.to_owned());
        let answer = wait_on(&self.runtime, Duration::from_secs(120), async move {
            client
                .batch_execute(&sql)
                .await
                .map_err(|error| describe(&error))
        })
        .unwrap_or_else(|| Err("no answer".to_owned()));
        answer.map_err(|problem| Error::System {
            system: self.label.clone(),
            problem: format!("the observer's statements failed: {problem}"),
        })
    }

    /// Terminates every backend named `application` that is inside a transaction now
    /// (between its BEGIN and the end of its COMMIT); returns how many it terminated.
    pub fn terminate_in_transaction(&self, application: &str) -> Result<u64> {
        let killed = self.query_one_i64(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid() \
             AND xact_start IS NOT NULL AND backend_type = 'client backend'",
            Some(application.to_owned()),
        )?;
        Ok(u64::try_from(killed).unwrap_or(0))
    }

    /// Backends named `application` connected now.
    pub fn backends(&self, application: &str) -> Result<u64> {
        let count = self.query_one_i64(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND pid <> pg_backend_pid()",
            Some(application.to_owned()),
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The server's count of rolled-back transactions in this database, since its
    /// statistics were last reset. A backend reports its counts when it exits, so read this
    /// after the backends of interest are gone (`wait_until_gone`).
    pub fn rolled_back(&self) -> Result<u64> {
        let count = self.query_one_i64(
            "SELECT coalesce(xact_rollback, 0)::bigint FROM pg_stat_database \
             WHERE datname = current_database()",
            None,
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Waits (up to `limit`) until no backend named `application` is connected; says whether
    /// they all left.
    pub fn wait_until_gone(&self, application: &str, limit: Duration) -> Result<bool> {
        let started = Instant::now();
        loop {
            if self.backends(application)? == 0 {
                return Ok(true);
            }
            if started.elapsed() >= limit {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `spec` with `application_name=NAME` added, so the run's backends can be told apart.
pub fn with_application_name(spec: &str, name: &str) -> String {
    let separator = if spec.contains('?') { '&' } else { '?' };
    format!("{}{separator}application_name={name}", spec.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the application name joins an existing query or starts one, and survives
    // parsing into the URL tokio-postgres reads.
    #[test]
    fn application_name_is_added() {
        let plain = with_application_name("postgres://h/db", "run-1");
        assert_eq!(plain, "postgres://h/db?application_name=run-1");
        let more = with_application_name("postgres://h/db?pool=4", "run-1");
        assert_eq!(more, "postgres://h/db?pool=4&application_name=run-1");
        let parsed = PostgresUrl::parse(&more).expect("parses");
        assert_eq!(parsed.pool_size, 4);
        assert!(parsed.connect.ends_with("?application_name=run-1"));
    }
}
