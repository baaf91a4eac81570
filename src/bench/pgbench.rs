//! The database's own limit for a claim: `pgbench` (it ships with PostgreSQL) running a
//! one-statement conditional claim on the same server, in the same bench run, so the
//! postgres store's claim rate is read as a share of what the server can do at all.
//!
//! The table lives in a schema of its own, dropped afterwards. Each run claims random rows
//! of a table large enough that few draws land on a row already held: a draw that does
//! would commit without writing, which costs no WAL flush and would flatter the figure.
//! Held rows are freed between runs for the same reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::systems::postgres::observer::Observer;
use crate::systems::postgres::PostgresUrl;

/// Rows of the claim table.
pub const ROWS: u64 = 1_000_000;
/// pgbench clients (connections), as the reference figure used.
pub const CLIENTS: usize = 8;

/// The claim every pgbench transaction runs: one conditional UPDATE, committed durably.
fn script() -> String {
    format!(
        "\\set id random(1, {ROWS})\n\
         UPDATE bench_items SET holder = :client_id WHERE id = :id AND holder IS NULL \
         RETURNING id;\n"
    )
}

/// The pgbench executable: on PATH, else the newest in the distribution's layout.
pub fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("pgbench"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin/pgbench")))
            .filter(|candidate| candidate.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

/// A claim table on the server, dropped when this goes.
pub struct ClaimTable<'a> {
    observer: &'a Observer,
    schema: String,
}

impl<'a> ClaimTable<'a> {
    /// Creates `schema.bench_items` with `ROWS` open rows.
    pub fn create(observer: &'a Observer, schema: &str) -> Result<Self> {
        observer.batch(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; \
             CREATE TABLE {schema}.bench_items (id bigint PRIMARY KEY, holder int); \
             INSERT INTO {schema}.bench_items SELECT g, NULL FROM generate_series(1, {ROWS}) g;"
        ))?;
        // VACUUM refuses to run in a string of several statements.
        observer.batch(&format!("VACUUM ANALYZE {schema}.bench_items"))?;
        Ok(Self {
            observer,
            schema: schema.to_owned(),
        })
    }

    /// Frees every held row, so the next run claims open rows again.
    pub fn reset(&self) -> Result<()> {
        let schema = &self.schema;
        self.observer.batch(&format!(
            "UPDATE {schema}.bench_items SET holder = NULL WHERE holder IS NOT NULL"
        ))?;
        self.observer.batch(&format!("VACUUM {schema}.bench_items"))
    }
}

impl Drop for ClaimTable<'_> {
    fn drop(&mut self) {
        let _ = self
            .observer
            .batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

/// Runs pgbench's claim script for `seconds` against `spec`'s server with the table in
/// `schema`; returns its transactions per second.
pub fn claims_per_s(
    pgbench: &Path,
    spec: &str,
    schema: &str,
    seconds: u32,
    scratch: &Path,
) -> Result<f64> {
    let url = PostgresUrl::parse(spec)?;
    let refuse = |problem: String| Error::Bench(format!("pgbench on {}: {problem}", url.redacted));
    let config = url.config()?;
    let script_path = scratch.join("claim.sql");
    std::fs::write(&script_path, script()).map_err(|error| refuse(error.to_string()))?;
    let mut command = Command::new(pgbench);
    command
        .args([
            "--no-vacuum",
            "--client",
            &CLIENTS.to_string(),
            "--jobs",
            "2",
        ])
        .args(["--time", &seconds.to_string(), "--file"])
        .arg(&script_path)
        // The connection goes through libpq's environment: no password on a command line.
        .env("PGOPTIONS", format!("-c search_path={schema}"));
    if let Some(tokio_postgres::config::Host::Tcp(host)) = config.get_hosts().first() {
        command.env("PGHOST", host);
    }
    #[cfg(unix)]
    if let Some(tokio_postgres::config::Host::Unix(dir)) = config.get_hosts().first() {
        command.env("PGHOST", dir);
    }
    if let Some(port) = config.get_ports().first() {
        command.env("PGPORT", port.to_string());
    }
    if let Some(user) = config.get_user() {
        command.env("PGUSER", user);
    }
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).as_ref());
    }
    if let Some(database) = config.get_dbname() {
        command.env("PGDATABASE", database);
    }
    let output = command
        .output()
        .map_err(|error| refuse(format!("cannot start {}: {error}", pgbench.display())))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(refuse(format!("{}: {}", output.status, stderr.trim())));
    }
    parse_tps(&stdout).ok_or_else(|| refuse(format!("no `tps = ` line in: {}", stdout.trim())))
}

/// The `tps = N (without initial connection time)` figure of pgbench's summary.
fn parse_tps(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("tps = "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the summary's tps is found among pgbench's other lines, and its absence is
    // `None` rather than a zero.
    #[test]
    fn tps_is_read_from_the_summary() {
        let summary = "number of transactions actually processed: 66000\n\
                       latency average = 0.601 ms\n\
                       initial connection time = 12.3 ms\n\
                       tps = 13301.52 (without initial connection time)\n";
        assert_eq!(parse_tps(summary), Some(13301.52));
        assert_eq!(parse_tps("pgbench: error: connection failed"), None);
    }
}
