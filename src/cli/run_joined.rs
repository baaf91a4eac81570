//! `swarmspec run --workers …`: the parent of a run whose workers join from other
//! processes or hosts (`swarmspec worker --join URL`), judged from the spans they export
//! to it over OTLP and from what the shared store holds.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::progress::DelayedBar;
use super::run_report::{judge, print_latency_table, swarm_checks};
use swarmspec::swarm::join::board::WorkerState;
use swarmspec::swarm::join::parent::{self, JoinPlan};
use swarmspec::swarm::processes::PROCESS_COUNT_MAX;
use swarmspec::swarm::split_store::SplitStore;
use swarmspec::swarm::SwarmConfig;

/// The variable `--join-token` (and `worker --join-token`) is read from when not given.
pub const JOIN_TOKEN_ENV: &str = "SWARMSPEC_JOIN_TOKEN";

/// Options of a joined run.
#[derive(Debug, Clone, Args)]
pub struct JoinArgs {
    /// Wait for workers to join from `swarmspec worker --join URL` (on this host or any
    /// other) instead of starting them: a count (named worker-1 … worker-N) or names
    /// separated by commas. Needs a shared `--store` every worker can reach; their spans
    /// come back over OTLP/HTTP to `--listen`.
    #[arg(long, value_name = "N|NAME,NAME,…", value_parser = parse_workers)]
    pub workers: Option<WorkerNames>,
    /// Where the workers' receiver listens (port 0: any free one). Anything but loopback
    /// needs --join-token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// How long to wait for every worker before starting with those that joined.
    #[arg(long, value_name = "S", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub join_timeout_s: u64,
    /// A secret every worker must present (every request, span exports included).
    #[arg(long, value_name = "TOKEN", env = JOIN_TOKEN_ENV, hide_env_values = true)]
    pub join_token: Option<String>,
}

/// The workers a joined run waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerNames(pub Vec<String>);

fn parse_workers(text: &str) -> Result<WorkerNames, String> {
    let text = text.trim();
    if let Ok(count) = text.parse::<usize>() {
        if count == 0 || count > PROCESS_COUNT_MAX {
            return Err(format!(
                "{count} workers: between 1 and {PROCESS_COUNT_MAX}"
            ));
        }
        return Ok(WorkerNames(
            (1..=count).map(|n| format!("worker-{n}")).collect(),
        ));
    }
    let names: Vec<String> = text.split(',').map(|n| n.trim().to_owned()).collect();
    if let Some(bad) = names.iter().find(|name| {
        name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    }) {
        return Err(format!(
            "worker name «{}»: use 1 to 64 letters, digits, '-', '_' or '.'",
            bad.chars().take(64).collect::<String>()
        ));
    }
    if names.len() > PROCESS_COUNT_MAX {
        return Err(format!(
            "{} workers: at most {PROCESS_COUNT_MAX}",
            names.len()
        ));
    }
    Ok(WorkerNames(names))
}

/// Runs the parent, prints each worker's end and the merged figures, and judges them.
pub fn run_joined(
    config: SwarmConfig,
    store: SplitStore,
    names: &WorkerNames,
    args: &JoinArgs,
) -> anyhow::Result<ExitCode> {
    let plan = JoinPlan {
        store,
        config: config.clone(),
        workers: names.0.clone(),
        listen: args.listen,
        token: args.join_token.clone(),
        join_timeout: Duration::from_secs(args.join_timeout_s),
    };
    let finished = Arc::new(AtomicU64::new(0));
    let token_note = if plan.token.is_some() {
        format!(" (with {JOIN_TOKEN_ENV} set, or --join-token)")
    } else {
        String::new()
    };
    let run = {
        let _bar = DelayedBar::start(
            Some(config.item_count as u64),
            Arc::clone(&finished),
            "items",
        );
        parent::run(&plan, &finished, |url, store| {
            // Printed at once (the bar stays hidden while nothing finishes): the person
            // starting the workers needs it now.
            eprintln!(
                "waiting up to {} s for {} workers ({}); on each host run{token_note}:\n  \
                 swarmspec worker --join {url} --store {}",
                args.join_timeout_s,
                plan.workers.len(),
                plan.workers.join(", "),
                store.shareable_spec()
            );
            if args.listen.ip().is_unspecified() {
                eprintln!(
                    "  (with this host's address in place of {})",
                    args.listen.ip()
                );
            }
        })
    }
    .with_context(|| format!("the joined run failed (seed {})", config.seed))?;

    outln!(
        "swarm: {} agents over {} joined workers, {} items, seed {}, store {}",
        config.agent_count,
        run.workers.len(),
        config.item_count,
        config.seed,
        run.store.label()
    );
    for worker in &run.workers {
        let state = match &worker.state {
            WorkerState::NeverJoined => "never joined".to_owned(),
            WorkerState::Running => "still running at the end".to_owned(),
            WorkerState::Silent(silent) => format!("silent for {:.1} s", silent.as_secs_f64()),
            WorkerState::Done(done) if done.ok => "done".to_owned(),
            WorkerState::Done(_) => "failed".to_owned(),
        };
        let host = if worker.host.is_empty() {
            "-"
        } else {
            &worker.host
        };
        outln!(
            "  {:<12} {:>4} agents, host {host}, {state}, {} spans received",
            worker.name,
            worker.agents,
            worker.spans_received
        );
    }
    outln!(
        "run:   {:.3} s real, {} spans merged",
        run.wall.as_secs_f64(),
        run.evidence.spans.len()
    );
    outln!();
    print_latency_table(&run.evidence)?;
    let mut checks = swarm_checks(&run.evidence, &config);
    checks.push(run.every_worker_joined());
    checks.push(run.every_worker_finished());
    checks.push(run.spans_arrived_whole());
    checks.extend(
        run.store
            .history_checks(&run.evidence.spans, run.in_flight_max()),
    );
    judge(&checks, config.seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a count becomes worker-1…N, names are kept, and bad ones are refused.
    #[test]
    fn workers_parse_as_a_count_or_names() {
        let three = parse_workers("3").expect("a count");
        assert_eq!(three.0, ["worker-1", "worker-2", "worker-3"]);
        let named = parse_workers("alpha, beta").expect("names");
        assert_eq!(named.0, ["alpha", "beta"]);
        assert!(parse_workers("0").is_err());
        assert!(parse_workers("a,,b").is_err());
        assert!(parse_workers("a b").is_err());
        assert!(parse_workers("1000").is_err());
    }
}
