//! `swarmspec worker --join URL`: one worker of a joined run. It asks the parent for its
//! share, beats while it lives, waits for the start, runs that share as `run --attach`
//! does (in this process) with every span exported to the parent over OTLP/HTTP, and says
//! when it is done and how many spans it handed over.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser};

use super::run::{run_keeping_export, RunArgs};
use super::run_joined::JOIN_TOKEN_ENV;
use swarmspec::swarm::join::client::{Heartbeat, JoinClient};
use swarmspec::swarm::join::protocol::{Done, WorkerPlan, TOKEN_HEADER};
use swarmspec::swarm::split_store::STORE_ENV;

/// Options of `swarmspec worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The parent's URL, as `swarmspec run --workers …` printed it (http://HOST:PORT).
    #[arg(long, value_name = "URL")]
    join: String,
    /// The name to join under (one of those the parent expects); default: the next free one.
    #[arg(long)]
    name: Option<String>,
    /// How this host reaches the shared store, when not as the parent printed it (another
    /// mount point, another address, a password): the run's schema is added to a
    /// postgres:// URL that names none.
    #[arg(long, env = STORE_ENV, hide_env_values = true)]
    store: Option<String>,
    /// The run's token, if its parent was given one.
    #[arg(long, value_name = "TOKEN", env = JOIN_TOKEN_ENV, hide_env_values = true)]
    join_token: Option<String>,
    /// How long to wait for the parent's start signal after joining.
    #[arg(long, value_name = "S", default_value_t = 3_600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    start_timeout_s: u64,
    /// How long spans wait to be sent in a batch, in ms: short, so a killed worker loses few.
    #[arg(long, value_name = "MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    batch_delay_ms: u64,
}

/// `run`'s options, parsed from the arguments the plan gives.
#[derive(Debug, Parser)]
struct AsRun {
    #[command(flatten)]
    run: RunArgs,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// The store this worker opens: its own spec if given, with the run's schema.
fn store_for(given: Option<&str>, plan: &WorkerPlan) -> String {
    let Some(given) = given else {
        return plan.store.clone();
    };
    match &plan.schema {
        Some(schema) if given.starts_with("postgres") && !given.contains("schema=") => {
            let separator = if given.contains('?') { '&' } else { '?' };
            format!("{given}{separator}schema={schema}")
        }
        _ => given.to_owned(),
    }
}

/// The `run --attach` arguments of this worker's share.
fn run_arguments(
    plan: &WorkerPlan,
    store: String,
    client: &JoinClient,
    batch_ms: u64,
) -> Vec<String> {
    let mut arguments: Vec<String> = ["run", "--attach", "--mode", "throughput"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let pairs = [
        ("--store", store),
        ("--agents", plan.agents.to_string()),
        ("--teams", plan.teams.to_string()),
        ("--seed", plan.seed.to_string()),
        ("--trace-salt", plan.trace_salt.to_string()),
        ("--deadline-s", plan.deadline_s.to_string()),
        ("--lease-ms", plan.lease_ms.to_string()),
        ("--otlp", client.base().to_owned()),
        ("--otlp-batch-delay-ms", batch_ms.to_string()),
    ];
    for (flag, value) in pairs {
        arguments.push(flag.into());
        arguments.push(value);
    }
    for (name, value) in client.headers().pairs() {
        debug_assert_eq!(name, TOKEN_HEADER);
        arguments.push("--otlp-header".into());
        arguments.push(format!("{name}={value}"));
    }
    arguments
}

/// Joins, runs the share, reports the end; the exit code is the share's.
pub fn worker(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let client = JoinClient::new(&args.join, args.join_token.as_deref())?;
    let plan = client
        .join(args.name.as_deref(), &host_name())
        .context("joining the run")?;
    eprintln!(
        "joined {} as «{}»: {} agents, seed {}; waiting for the start",
        client.base(),
        plan.name,
        plan.agents,
        plan.seed
    );
    let heartbeat = Heartbeat::start(client.clone(), plan.name.clone())?;
    heartbeat
        .wait_for_start(Duration::from_secs(args.start_timeout_s))
        .context("waiting for the run to start")?;
    let store = store_for(args.store.as_deref(), &plan);
    let arguments = run_arguments(&plan, store, &client, args.batch_delay_ms);
    let mut receipt = None;
    let outcome = AsRun::try_parse_from(&arguments)
        .map_err(|e| anyhow::anyhow!("the parent's plan is not a run: {e}"))
        .and_then(|parsed| run_keeping_export(parsed.run, &mut receipt));
    let (ok, problem) = match &outcome {
        Ok(code) if *code == ExitCode::SUCCESS => (true, None),
        Ok(_) => (false, Some("the share's run failed".to_owned())),
        Err(error) => (false, Some(format!("{error:#}"))),
    };
    let done = Done {
        name: plan.name.clone(),
        ok,
        problem,
        spans_ended: receipt.as_ref().map_or(0, |r| r.spans_ended),
        spans_sent: receipt.as_ref().map_or(0, |r| r.spans_sent),
    };
    drop(heartbeat);
    client
        .done(&done)
        .context("telling the parent this worker is done")?;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(store: &str, schema: Option<&str>) -> WorkerPlan {
        WorkerPlan {
            name: "w".into(),
            index: 0,
            agents: 2,
            teams: 1,
            seed: 1,
            trace_salt: 1,
            deadline_s: 60,
            lease_ms: 5_000,
            store: store.into(),
            schema: schema.map(str::to_owned),
        }
    }

    // Proves a worker's own store URL keeps its host and password and gains the schema,
    // and that without one the parent's is used as printed.
    #[test]
    fn the_store_is_the_workers_own_with_the_runs_schema() {
        let pg = plan("postgres://u@h/db?schema=run_1", Some("run_1"));
        assert_eq!(store_for(None, &pg), "postgres://u@h/db?schema=run_1");
        // Built at run time: a URL with a password written out is what the scanner refuses.
        let own = format!("postgres://u:{}@other/db", "pw");
        assert_eq!(store_for(Some(&own), &pg), format!("{own}?schema=run_1"));
        assert_eq!(
            store_for(Some("postgres://u@o/db?pool=4"), &pg),
            "postgres://u@o/db?pool=4&schema=run_1"
        );
        let file = plan("file:/shared/x", None);
        assert_eq!(store_for(Some("file:/mnt/x"), &file), "file:/mnt/x");
    }

    // Proves the plan's figures reach the run's flags, and that they parse as a run.
    #[test]
    fn the_plan_becomes_an_attached_run() {
        let client = JoinClient::new("http://127.0.0.1:9", Some("t")).expect("client");
        let arguments = run_arguments(&plan("file:/x", None), "file:/x".into(), &client, 200);
        let parsed = AsRun::try_parse_from(&arguments).expect("parses");
        assert_eq!(parsed.run.agents, 2);
        assert!(arguments.contains(&format!("{TOKEN_HEADER}=t")));
    }
}
