//! The run record of a scenario: what it actually ran, for the claims' conditions. Built from
//! the configuration that ran (after any seed override) and the machine, never from what
//! the scenario's name or tags say.

use crate::claims::conditions::{number, text};
use crate::claims::RunRecord;
use crate::swarm::{Contention, Mode, SwarmConfig};

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The injected faults' kinds joined by `+`, or `none`.
fn faults(config: &SwarmConfig) -> String {
    let f = &config.faults;
    let kinds: Vec<&str> = [
        (f.crash.is_some() || f.team_crash.is_some(), "crash"),
        (f.outage.is_some(), "outage"),
        (f.partition.is_some(), "partition"),
        (f.slow.is_some(), "slow"),
        (f.skew.is_some(), "skew"),
        (f.error_rate > 0.0, "errors"),
        (f.stall.is_some(), "stall"),
        (f.lost_answer_rate > 0.0, "lost-answers"),
    ]
    .into_iter()
    .filter_map(|(on, kind)| on.then_some(kind))
    .collect();
    if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join("+")
    }
}

/// What a swarm of `config` split over `processes` processes on `system` ran.
pub fn swarm(config: &SwarmConfig, processes: usize, system: &str) -> RunRecord {
    let processes = processes.max(1);
    let real = config.mode == Mode::Throughput;
    let mut record = RunRecord::new();
    record.insert("agents".into(), number(config.agent_count as f64));
    record.insert("items".into(), number(config.item_count as f64));
    record.insert("processes".into(), number(processes as f64));
    record.insert(
        "agents_per_process".into(),
        number((config.agent_count / processes) as f64),
    );
    let threads = if real { config.worker_threads } else { 1 };
    record.insert("threads".into(), number(threads as f64));
    record.insert("cores".into(), number(cores() as f64));
    record.insert("clock".into(), text(if real { "real" } else { "virtual" }));
    let contention = match config.contention {
        Contention::High => "high",
        Contention::Spread => "spread",
    };
    record.insert("contention".into(), text(contention));
    record.insert("system".into(), text(system));
    record.insert("faults".into(), text(faults(config)));
    let engine = match config.discipline.mutant() {
        None => "correct",
        Some(mutant) => mutant.name(),
    };
    record.insert("engine".into(), text(engine));
    record
}

/// What a deploy session ran: whether every version it deployed was healthy.
pub fn deploy(all_versions_good: bool) -> RunRecord {
    let mut record = RunRecord::new();
    record.insert("cores".into(), number(cores() as f64));
    record.insert("clock".into(), text("virtual"));
    let versions = if all_versions_good { "good" } else { "bad" };
    record.insert("versions".into(), text(versions));
    record
}

/// What a scenario reading another system's evidence ran on.
pub fn external(system: &str) -> RunRecord {
    let mut record = RunRecord::new();
    record.insert("system".into(), text(system));
    record
}

/// Adds faults done to a child-process system (`kill`, `pause`, `slow`) to the record's
/// `faults`, so claims that need a run without faults do not count it.
pub fn add_process_faults(record: &mut RunRecord, faults: &[super::systems::ProcessFault]) {
    use super::systems::ProcessFault;
    let kinds = faults.iter().map(|fault| match fault {
        ProcessFault::KillRestart { .. } => "kill",
        ProcessFault::Pause { .. } => "pause",
        ProcessFault::Slow(_) => "slow",
    });
    add_fault_kinds(record, kinds);
}

/// Adds faults done to a database server (`db-restart`, `db-drop`) to the record's `faults`.
pub fn add_database_faults(record: &mut RunRecord, faults: &[super::database::DatabaseFault]) {
    use super::database::DatabaseFault;
    let kinds = faults.iter().map(|fault| match fault {
        DatabaseFault::CrashRestart { .. } => "db-restart",
        DatabaseFault::DropConnections { .. } => "db-drop",
    });
    add_fault_kinds(record, kinds);
}

fn add_fault_kinds<'a>(record: &mut RunRecord, added: impl Iterator<Item = &'a str>) {
    let mut kinds: Vec<String> = record
        .get("faults")
        .map(ToString::to_string)
        .filter(|kinds| kinds != "none")
        .into_iter()
        .collect();
    let before = kinds.len();
    kinds.extend(added.map(str::to_owned));
    if kinds.len() > before {
        record.insert("faults".into(), text(kinds.join("+")));
    }
}
