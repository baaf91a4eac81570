//! `swarmspec run`: one swarm, its figures, and the conflict checks, from captured evidence.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::numbers;
use super::progress::DelayedBar;
use super::run_report::check_determinism;
pub(super) use super::run_report::{judge, print_latency_table, swarm_checks};
use swarmspec::coordination::Coordinator;
use swarmspec::evidence::Evidence;
use swarmspec::store::FileStore;
use swarmspec::swarm::split_store::SplitStore;
use swarmspec::swarm::{Contention, Mode, Swarm, SwarmConfig};
use swarmspec::systems::postgres::PostgresCoordinator;
use swarmspec::telemetry::otlp::{ExportReport, OtlpTarget, ResourceSettings, RunAttributes};
use swarmspec::telemetry::{BoxedProcessor, Capture, CaptureLevel, SpanFile, TimeBase};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// One thread, virtual time: the same seed gives the same run.
    Deterministic,
    /// All cores, real clock: for performance figures.
    Throughput,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ContentionArg {
    /// Agents are handed different items.
    Spread,
    /// Every agent races for the same items.
    High,
}

/// Options of `swarmspec run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Agents in the swarm (1 or more).
    #[arg(long, default_value_t = 100, value_parser = numbers::Usize(numbers::Whole::AtLeastOne))]
    pub(super) agents: usize,
    /// Work items to finish (1 or more).
    #[arg(long, default_value_t = 1_000, value_parser = numbers::Usize(numbers::Whole::AtLeastOne))]
    pub(super) items: usize,
    /// Seed for every random choice; the same seed replays a deterministic run.
    #[arg(long, default_value_t = 42, value_parser = numbers::U64(numbers::Whole::U64))]
    pub(super) seed: u64,
    /// What work items' trace ids derive from (default: the seed). A split run passes its
    /// own to each worker, so an item keeps one trace across processes.
    #[arg(long, hide = true, value_parser = numbers::U64(numbers::Whole::U64))]
    pub(super) trace_salt: Option<u64>,
    /// How time and scheduling work.
    #[arg(long, value_enum, default_value_t = ModeArg::Throughput)]
    mode: ModeArg,
    /// How agents pick work.
    #[arg(long, value_enum, default_value_t = ContentionArg::Spread)]
    contention: ContentionArg,
    /// Teams the agents are split into (evenly).
    #[arg(long, default_value_t = 1, value_parser = numbers::Usize(numbers::Whole::AtLeastOne))]
    teams: usize,
    /// Run twice (deterministic mode only) and compare the span digests; a mismatch is an
    /// error naming the first event where the runs diverge.
    #[arg(long)]
    check_determinism: bool,
    /// The coordinator under test: `memory` (the reference engine), `file:DIR` (JSON files
    /// in DIR, Scrum-at-Scale layout; created if missing, kept after the run), or
    /// `command:CONFIG` (another coordinator driven through its command line, as the TOML
    /// CONFIG says, on the real clock; judged by the history checker; --agents, --items and
    /// --seed apply, the swarm's other options do not), or `postgres://USER:<PASSWORD>@HOST/DB`
    /// (a PostgreSQL schema: made for the run and dropped after it, or the one `?schema=`
    /// names). Read from SWARMSPEC_STORE when not given, which is how workers get a URL
    /// with a password without putting it on their command line.
    #[arg(long, visible_alias = "system", default_value = "memory", value_parser = parse_store,
          env = swarmspec::swarm::split_store::STORE_ENV, hide_env_values = true)]
    store: StoreArg,
    /// Split the swarm across this many OS processes sharing the store (needs
    /// `--store file:DIR` or `postgres://…`, and throughput mode): the agents are divided evenly, every process
    /// races for the same items, and the evidence of all of them is merged and judged.
    #[arg(long, default_value_t = 1, value_parser = numbers::Usize(numbers::Whole::AtLeastOne))]
    processes: usize,
    /// Stop the run after this many seconds (simulated in deterministic mode); items not
    /// finished by then end with a `work.fail` span.
    #[arg(long, default_value_t = 3_600, value_parser = numbers::Usize(numbers::Whole::AtLeastOne))]
    deadline_s: usize,
    /// How long an agent's claims outlive its last sign of life before the reaper reopens
    /// them, in ms.
    #[arg(long, default_value_t = 5_000, value_parser = numbers::Usize(numbers::Whole::AtLeastOne))]
    lease_ms: usize,
    /// Also write every span to this file, one span-log JSON object a line, flushed as each
    /// span ends (what `swarmspec spans check` and `Given the spans recorded in` read).
    #[arg(long, value_name = "FILE")]
    spans_out: Option<PathBuf>,
    /// Work on the items already in the shared `--store` instead of submitting new ones,
    /// until the store shows every item finished (how `--processes` starts its workers).
    #[arg(long)]
    attach: bool,
    #[command(flatten)]
    pub(super) join: super::run_joined::JoinArgs,
    #[command(flatten)]
    pub(super) otlp: super::export::OtlpArgs,
    #[command(flatten)]
    pub(super) serve: super::serve::ServeArgs,
    /// How a command system's findings are listed (only with `--store command:CONFIG`).
    #[command(flatten)]
    pub(super) listing: super::listing::ListingArgs,
}

/// Where coordination state lives.
#[derive(Debug, Clone)]
enum StoreArg {
    Memory,
    File(PathBuf),
    Command(PathBuf),
    Postgres(String),
}

fn parse_store(text: &str) -> Result<StoreArg, String> {
    match text.split_once(':') {
        _ if text == "memory" => Ok(StoreArg::Memory),
        _ if text.starts_with("postgres://") || text.starts_with("postgresql://") => {
            swarmspec::systems::postgres::PostgresUrl::parse(text)
                .map(|_| StoreArg::Postgres(text.to_owned()))
                .map_err(|error| error.to_string())
        }
        Some(("file", dir)) if !dir.is_empty() => Ok(StoreArg::File(PathBuf::from(dir))),
        Some(("command", config)) if !config.is_empty() => {
            Ok(StoreArg::Command(PathBuf::from(config)))
        }
        _ => Err(format!(
            "'{}' is neither `memory`, `file:DIR`, `command:CONFIG` nor `postgres://…`",
            swarmspec::systems::postgres::url::redact(text)
        )),
    }
}

fn config_from(args: &RunArgs) -> anyhow::Result<SwarmConfig> {
    let mut config = SwarmConfig::new(args.agents, args.items, args.seed);
    config.trace_salt = args.trace_salt;
    config.mode = match args.mode {
        ModeArg::Deterministic => Mode::Deterministic,
        ModeArg::Throughput => Mode::Throughput,
    };
    config.contention = match args.contention {
        ContentionArg::Spread => Contention::Spread,
        ContentionArg::High => Contention::High,
    };
    if args.teams > args.agents {
        anyhow::bail!(
            "--teams {} is more than --agents {}",
            args.teams,
            args.agents
        );
    }
    let base = args.agents / args.teams;
    let extra = args.agents % args.teams;
    config.team_sizes = (0..args.teams)
        .map(|t| base + usize::from(t < extra))
        .collect();
    config.deadline = std::time::Duration::from_secs(args.deadline_s as u64);
    config.lease_duration = std::time::Duration::from_millis(args.lease_ms as u64);
    // The suite's way of planting a defect applies to a single run on the memory engine
    // too (the live view's test watches a planted double hold turn its panel red).
    if let Some(mutant) = swarmspec::coordination::Mutant::from_env()? {
        if matches!(args.store, StoreArg::Memory) {
            eprintln!(
                "warning: the memory engine runs with a planted defect: {}",
                mutant.name()
            );
            config.discipline = swarmspec::coordination::Discipline::Mutant(mutant);
        }
    }
    config.validate()?;
    if let Some(available) = swarmspec::swarm::memory::available_bytes() {
        config.check_memory(available)?;
    }
    Ok(config)
}

/// The capture of a run: every span kept, also handed to `exports` (the OTLP collector's)
/// and written to `--spans-out` if given, headed by the resource an export would carry.
pub(super) fn capture_for(
    args: &RunArgs,
    run: (&str, &RunAttributes),
    otlp: Option<&OtlpTarget>,
    mut exports: Vec<BoxedProcessor>,
) -> anyhow::Result<(Arc<Capture>, Option<SpanFile>)> {
    let (run_id, attributes) = run;
    let span_file = match &args.spans_out {
        Some(path) => {
            let resource = match otlp {
                Some(target) => target.resource(Some(attributes)),
                None => ResourceSettings::from_env()
                    .context("the span file's resource")?
                    .with_run_id(run_id)
                    .resource(Some(attributes)),
            };
            Some(SpanFile::create(path, &resource)?)
        }
        None => None,
    };
    if let Some(file) = &span_file {
        exports.push(Box::new(file.clone()));
    }
    let capture = Capture::with_exports(attributes.seed, CaptureLevel::Spans, exports);
    Ok((Arc::new(capture), span_file))
}

/// Runs the swarm, prints the figures measured from the capture, and fails on conflicts.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    run_keeping_export(args, &mut None)
}

/// `run`, leaving in `receipt` what the OTLP export did with the spans (`swarmspec worker`
/// reports it to the parent, which compares it with what arrived).
pub(super) fn run_keeping_export(
    args: RunArgs,
    receipt: &mut Option<ExportReport>,
) -> anyhow::Result<ExitCode> {
    if let StoreArg::Command(config) = &args.store {
        if args.check_determinism {
            anyhow::bail!("--check-determinism needs a simulated coordinator: an external system never replays");
        }
        let ignored = [
            (args.processes > 1, "--processes"),
            (args.attach, "--attach"),
            (args.teams > 1, "--teams"),
            (
                matches!(args.mode, ModeArg::Deterministic),
                "--mode deterministic",
            ),
            (
                matches!(args.contention, ContentionArg::High),
                "--contention high",
            ),
        ];
        if let Some((_, flag)) = ignored.iter().find(|(given, _)| *given) {
            anyhow::bail!("{flag} shapes swarmspec's simulated swarm; a command system runs its own agents on the real clock (only --agents, --items, --seed, --spans-out, --otlp and the listing options apply)");
        }
        if args.serve.serve.is_some() {
            anyhow::bail!(
                "--serve watches swarmspec's own swarm; a command system runs its own agents"
            );
        }
        return super::command_store::run(config, &args);
    }
    if args.serve.serve.is_some() && (args.processes > 1 || args.attach) {
        anyhow::bail!(
            "--serve watches one process's swarm: it takes neither --processes nor --attach"
        );
    }
    if args.listing.json
        || args.listing.all
        || args.listing.limit != swarmspec::findings::LIMIT_DEFAULT
    {
        anyhow::bail!("--json, --limit and --all list a command system's findings: they need --store command:CONFIG");
    }
    let config = config_from(&args).context("invalid options for `swarmspec run`")?;
    let shared_store = match &args.store {
        StoreArg::File(dir) => Some(SplitStore::File(dir.clone())),
        StoreArg::Postgres(spec) => Some(SplitStore::Postgres(spec.clone())),
        // Handled above: a command store never reaches the swarm.
        StoreArg::Memory | StoreArg::Command(_) => None,
    };
    if let Some(workers) = &args.join.workers {
        let Some(store) = &shared_store else {
            anyhow::bail!(
                "--workers needs a store every worker reaches: add --store postgres://… (or \
                 file:DIR on a disk they share)"
            );
        };
        if args.processes > 1 || args.attach || args.check_determinism || args.spans_out.is_some() {
            anyhow::bail!(
                "--workers waits for workers to join: it takes none of --processes, --attach, \
                 --check-determinism, --spans-out"
            );
        }
        return super::run_joined::run_joined(config, store.clone(), workers, &args.join);
    }
    if args.processes > 1 || args.attach {
        let Some(store) = &shared_store else {
            anyhow::bail!(
                "--processes and --attach need a shared store: add --store file:DIR or \
                 --store postgres://…"
            );
        };
        if args.processes > 1 {
            if args.attach || args.check_determinism || args.spans_out.is_some() {
                anyhow::bail!(
                    "--processes starts its own workers: it takes none of --attach, \
                     --check-determinism, --spans-out"
                );
            }
            if args.otlp.otlp.is_some() {
                eprintln!(
                    "warning: --otlp is not passed to the workers of --processes: their spans \
                     go to span files under the store directory (an OTEL_EXPORTER_OTLP_* \
                     variable is inherited, and each worker then exports its own spans)"
                );
            }
            // The workers inherit the OTEL_* variables: a bad one is refused here, once,
            // rather than by every worker after the items are submitted.
            super::export::target(&args.otlp, "")?;
            return super::run_split::run_split(config, store.clone(), args.processes);
        }
    }
    let run_id = super::verify::run_id_now();
    let system = match &shared_store {
        Some(SplitStore::File(_)) => "file",
        Some(SplitStore::Postgres(_)) => "postgres",
        None => "memory",
    };
    let attributes = RunAttributes::new(config.seed, system);
    let otlp = super::export::target(&args.otlp, &run_id)?;
    let (export, exports) = super::export::start(otlp.as_ref(), &attributes)?;
    let (capture, span_file) = capture_for(&args, (&run_id, &attributes), otlp.as_ref(), exports)?;
    let mut swarm = Swarm::new(config.clone());
    if let Some(store) = &shared_store {
        let lease_ns = config.lease_duration.as_nanos() as u64;
        if args.attach {
            swarm = swarm.attached(attached_items(store, lease_ns)?);
        }
        let store = store.clone();
        swarm = swarm.with_coordinator(Arc::new(move |time_base: TimeBase| {
            let epoch = time_base.epoch_unix_ns();
            Ok(match &store {
                SplitStore::File(dir) => {
                    Arc::new(FileStore::open(dir, epoch, lease_ns)?) as Arc<dyn Coordinator>
                }
                SplitStore::Postgres(spec) => {
                    Arc::new(PostgresCoordinator::open(spec, epoch, lease_ns)?)
                }
            })
        }));
    }
    let watching = super::serve::Watching::start(&args.serve, &config, swarm.finished_counter())?;
    if let Some(watching) = &watching {
        swarm = swarm.watched_by(Arc::clone(&watching.run.agents));
        watching.run.watch(Arc::clone(&capture));
    }
    let started = Instant::now();
    let outcome = {
        let _bar = DelayedBar::start(
            Some(config.item_count as u64),
            swarm.finished_counter(),
            "items",
        );
        swarm.run(Arc::clone(&capture))
    }
    .with_context(|| format!("the swarm run failed (seed {})", config.seed))?;
    let wall = started.elapsed();
    if let Some(file) = &span_file {
        file.finish().context("writing the spans to --spans-out")?;
    }
    if let Some(export) = &export {
        let report = export.finish(&capture);
        super::export::print(&report)?;
        *receipt = Some(report);
    }
    if args.attach {
        if let Some(watching) = &watching {
            watching.run.end();
        }
        // A worker's evidence is judged by whoever merges all workers' span files.
        outln!(
            "worker: {} agents, seed {}, {} spans, {:.3} s, {} items unfinished in the store",
            config.agent_count,
            config.seed,
            capture.span_count()?,
            wall.as_secs_f64(),
            outcome.items_unfinished
        );
        return Ok(ExitCode::SUCCESS);
    }
    let evidence = Evidence::from_capture(&capture).context("reading the capture")?;
    if let Some(watching) = &watching {
        watching.run.end_with(&evidence.spans);
    }
    if args.check_determinism {
        check_determinism(&config, &evidence)?;
    }

    outln!(
        "swarm: {} agents, {} items, seed {}, {} mode, {:?} contention",
        config.agent_count,
        config.item_count,
        config.seed,
        config.mode.as_str(),
        config.contention
    );
    outln!(
        "run:   {:.3} s {} ({:.3} s wall), {} spans captured, {} items unfinished",
        outcome.duration_ns as f64 / 1e9,
        if config.mode == Mode::Deterministic {
            "simulated"
        } else {
            "real"
        },
        wall.as_secs_f64(),
        evidence.spans.len(),
        outcome.items_unfinished
    );
    outln!();
    print_latency_table(&evidence)?;
    let checks = swarm_checks(&evidence, &config);
    let verdict = judge(&checks, config.seed);
    if let Some(watching) = watching {
        watching.finish();
    }
    verdict
}

/// The items of the shared store an attached worker works on. A PostgreSQL store must name
/// its schema: without `?schema=` opening it would make (and drop) a fresh, empty one.
fn attached_items(
    store: &SplitStore,
    lease_ns: u64,
) -> anyhow::Result<Vec<swarmspec::coordination::ExistingItem>> {
    let items = match store {
        SplitStore::File(dir) => FileStore::open(dir, 0, lease_ns).and_then(|s| s.items()),
        SplitStore::Postgres(spec) => {
            let url = swarmspec::systems::postgres::PostgresUrl::parse(spec)?;
            if url.schema.is_none() {
                anyhow::bail!(
                    "--attach to {} needs the run's schema: add ?schema=NAME (the parent \
                     prints it)",
                    url.redacted
                );
            }
            PostgresCoordinator::open(spec, 0, lease_ns).and_then(|s| s.items())
        }
    };
    items.with_context(|| format!("reading the items in {}", store.label()))
}
