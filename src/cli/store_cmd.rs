//! `swarmspec store …`: one `FileStore` call per process, so that an external-command adapter
//! config (or a shell script) can drive swarmspec's own file store like any other system.
//!
//! Exit codes: 0 when the call was served as asked, 3 when it was refused (a conflict, a
//! lost lease, a wrong role: outcomes, not errors), 2 for errors (bad directory, unknown
//! agent or item). Ids and outcomes go to stdout, one line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use swarmspec::coordination::{
    ClaimOutcome, CompleteOutcome, Coordinator, Ownership, Role, TeamId, WorkSpec,
};
use swarmspec::ids::{AgentId, WorkId};
use swarmspec::store::files::read_array;
use swarmspec::store::layout::{WorkClaim, WORK_CLAIMS_FILE};
use swarmspec::store::FileStore;

/// Exit code of a call the store refused (an outcome, not an error).
const REFUSED: u8 = 3;
/// Lease given to agents registered from the command line. Nothing run by these commands
/// reaps, so it only matters to a swarm run sharing the directory.
const LEASE_DURATION: Duration = Duration::from_secs(300);

/// `swarmspec store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Register an agent; prints its id.
    Register {
        #[command(flatten)]
        at: At,
        /// Its role.
        #[arg(long, default_value = "developer")]
        role: String,
        /// Its team's number.
        #[arg(long, default_value_t = 0)]
        team: u32,
    },
    /// Submit a work item whose one stage needs `--role`; prints its id.
    Submit {
        #[command(flatten)]
        at: At,
        /// The role of its one stage.
        #[arg(long, default_value = "developer")]
        role: String,
        /// Its team's number.
        #[arg(long, default_value_t = 0)]
        team: u32,
        /// Kind of work.
        #[arg(long, default_value = "feature")]
        work_type: String,
    },
    /// Claim an item (exit 3 if someone else holds it).
    Claim(Call),
    /// Report progress on a held item (exit 3 if the caller does not hold it).
    Progress {
        #[command(flatten)]
        call: Call,
        /// Percent done.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
    },
    /// Complete a held item (exit 3 if the caller does not hold it).
    Complete(Call),
    /// Print work_claims.json (the item states) as a JSON array.
    State(At),
}

/// The store directory.
#[derive(Debug, Args)]
pub struct At {
    /// The coordination directory (created if missing).
    #[arg(long)]
    dir: PathBuf,
}

/// An agent's call about an item.
#[derive(Debug, Args)]
pub struct Call {
    #[command(flatten)]
    at: At,
    /// The calling agent (`agent_…`).
    #[arg(long, value_parser = parse_agent)]
    agent: AgentId,
    /// The item (`work_…`).
    #[arg(long, value_parser = parse_item)]
    item: WorkId,
}

fn parse_agent(text: &str) -> Result<AgentId, String> {
    AgentId::parse(text).ok_or_else(|| format!("'{text}' is not an agent id (agent_<digits>)"))
}

fn parse_item(text: &str) -> Result<WorkId, String> {
    WorkId::parse(text).ok_or_else(|| format!("'{text}' is not a work item id (work_<digits>)"))
}

fn parse_role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text).with_context(|| format!("unknown role «{text}»"))
}

/// The store, with ids and heartbeats stamped from the wall clock (each process is its own
/// run, so run-relative time is always 0).
fn open(at: &At) -> anyhow::Result<FileStore> {
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    FileStore::open(&at.dir, now_ns, LEASE_DURATION.as_nanos() as u64)
        .with_context(|| format!("opening the store in {}", at.dir.display()))
}

fn answer(served: bool, line: String) -> anyhow::Result<ExitCode> {
    outln!("{line}");
    Ok(if served {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(REFUSED)
    })
}

/// Runs one store call.
pub fn store(command: StoreCommand) -> anyhow::Result<ExitCode> {
    Ok(match command {
        StoreCommand::Register { at, role, team } => {
            let id = open(&at)?.register_agent(parse_role(&role)?, TeamId(team), 0)?;
            answer(true, id.to_string())?
        }
        StoreCommand::Submit {
            at,
            role,
            team,
            work_type,
        } => {
            let spec = WorkSpec {
                work_type,
                team: TeamId(team),
                pipeline: vec![parse_role(&role)?].into(),
            };
            answer(true, open(&at)?.submit(spec, 0)?.to_string())?
        }
        StoreCommand::Claim(call) => match open(&call.at)?.claim(call.agent, call.item, 0)? {
            ClaimOutcome::Claimed { stage } => {
                answer(true, format!("claimed {} stage {stage}", call.item))?
            }
            ClaimOutcome::Conflict { holder } => answer(
                false,
                format!(
                    "conflict: held by {}",
                    holder.map_or("nobody (not open)".into(), |h| h.to_string())
                ),
            )?,
            ClaimOutcome::WrongRole { needed } => {
                answer(false, format!("wrong role: needs {}", needed.as_str()))?
            }
        },
        StoreCommand::Progress { call, percent } => {
            let ownership = open(&call.at)?.progress(call.agent, call.item, percent, 0)?;
            answer(
                ownership == Ownership::Held,
                format!("{} {}", ownership.label(), call.item),
            )?
        }
        StoreCommand::Complete(call) => {
            let outcome = open(&call.at)?.complete(call.agent, call.item, 0)?;
            let served = matches!(outcome, CompleteOutcome::Completed { .. });
            answer(served, format!("{} {}", outcome.label(), call.item))?
        }
        StoreCommand::State(at) => {
            let claims: Vec<WorkClaim> = read_array(&at.dir.join(WORK_CLAIMS_FILE))?;
            answer(true, serde_json::to_string_pretty(&claims)?)?
        }
    })
}
