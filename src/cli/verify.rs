//! `swarmspec verify`: run the Gherkin suite, evaluate the claims ledger, write the reports,
//! append to the history, compare with a baseline, and exit non-zero on anything false.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Args;

use super::embedded;
use super::progress::DelayedBar;
use swarmspec::claims::{self, ClaimResult, ClaimStatus, Ledger, ScenarioMetrics};
use swarmspec::report::{
    self, history, Machine, RunInfo, RunReport, ScenarioResult, ScenarioStatus, Summary,
};
use swarmspec::steps::{run_suite, SuiteOptions};

/// Options of `swarmspec verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Directory of `.feature` files (the embedded suite when the default is absent).
    #[arg(long, default_value = "features")]
    features: PathBuf,
    /// Run only scenarios matching this tag expression, e.g. "@claim-performance and not @slow".
    #[arg(long)]
    tags: Option<String>,
    /// Replace every scenario's seed with this one.
    #[arg(long)]
    seed: Option<u64>,
    /// Run the suite this many times, with seeds --seed (default 1), --seed + 1, …; a failure
    /// prints the seed and the command that replays exactly that run.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: Option<u64>,
    /// Run only scenarios whose name contains this text.
    #[arg(long)]
    name: Option<String>,
    /// Claims ledger (the embedded one when the default is absent).
    #[arg(long, default_value = "claims.toml")]
    ledger: PathBuf,
    /// Report directory [default: reports/<run-id>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// History file each run appends to.
    #[arg(long, default_value = "reports/history.jsonl")]
    history: PathBuf,
    /// Compare with a previous run: a report directory, or `latest` for the last run in the
    /// history. A claim worse by more than its tolerance is a REGRESSION and fails the run.
    #[arg(long)]
    baseline: Option<String>,
    /// Also fail when a claim is UNVERIFIED.
    #[arg(long)]
    strict: bool,
    /// Also send every scenario's spans to an OTLP collector (verdicts still come from
    /// each scenario's own capture).
    #[command(flatten)]
    otlp: super::export::OtlpArgs,
    /// Then run the suite once per planted engine defect (all, or a comma-separated list)
    /// and print the kill matrix; a mutant no scenario kills fails the run.
    #[arg(long, value_name = "NAMES", num_args = 0..=1, default_missing_value = "all",
          value_parser = super::mutants::parse)]
    mutants: Option<super::mutants::Selection>,
    /// The system under test for every scenario that does not name its own: `memory` (the
    /// reference engine), `file:DIR` (a fresh file store per scenario inside DIR) or
    /// `process:CONFIG.toml` (a child process speaking docs/process-protocol.md). Scenarios
    /// that need what the system lacks are reported not applicable, with the reason.
    #[arg(long, env = "SWARMSPEC_SYSTEM", value_name = "SPEC", value_parser = parse_system)]
    system: Option<swarmspec::systems::SystemSpec>,
    /// A live view of the run in the browser: the scenario running, verdicts so far, the
    /// claims as decided, the report files once written.
    #[command(flatten)]
    serve: super::serve::ServeArgs,
}

fn parse_system(text: &str) -> Result<swarmspec::systems::SystemSpec, String> {
    let spec = swarmspec::systems::SystemSpec::parse(text).map_err(|error| error.to_string())?;
    // A config is read now, so its mistakes are reported at their line before anything runs.
    if let swarmspec::systems::SystemSpec::Process(path) = &spec {
        swarmspec::systems::process::ProcessConfig::load(path)
            .map_err(|error| error.to_string())?;
    }
    Ok(spec)
}

/// This moment's run id (also the `swarmspec.run.id` of exported spans).
pub(super) fn run_id_now() -> String {
    let now_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    run_id(now_unix_s)
}

/// A sortable, unique run id: UTC time to the second, then the process id.
fn run_id(now_unix_s: u64) -> String {
    let days = (now_unix_s / 86_400) as i64;
    let seconds = now_unix_s % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z-{}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        std::process::id()
    )
}

fn load_ledger(path: &Path) -> anyhow::Result<(Ledger, String)> {
    if embedded::use_embedded(path, "claims.toml") {
        Ok((
            Ledger::parse(embedded::LEDGER, "claims.toml (embedded)")?,
            "claims.toml (embedded)".into(),
        ))
    } else {
        Ok((Ledger::load(path)?, path.display().to_string()))
    }
}

fn baseline_claims(baseline: &str, history_path: &Path) -> anyhow::Result<Vec<ClaimResult>> {
    if baseline == "latest" {
        let runs = super::docs::read_history(history_path)?;
        let last = runs.last().with_context(|| {
            format!(
                "--baseline latest: {} holds no run yet",
                history_path.display()
            )
        })?;
        return Ok(last.claims.clone());
    }
    let path = Path::new(baseline).join("report.json");
    Ok(report::read(&path)?.claims)
}

fn print_summary(report: &RunReport, out: &Path) {
    println!();
    // The id column is as wide as the longest id, so the columns stay aligned.
    let id_width = report
        .claims
        .iter()
        .map(|claim| claim.id.chars().count())
        .max()
        .unwrap_or(0)
        .max("claim".len());
    println!(
        "{:<id_width$} {:<11} {:>18} {:>16}  statement",
        "claim", "status", "observed", "expected"
    );
    for claim in &report.claims {
        let observed = claim.observed.map_or("—".to_owned(), |v| {
            format!("{} {}", swarmspec::claims::format_value(v), claim.unit)
        });
        println!(
            "{:<id_width$} {:<11} {:>18} {:>16}  {}",
            claim.id,
            claim.status.as_str(),
            observed,
            format!("{} {}", claim.expected, claim.unit),
            claim.statement
        );
    }
    for scenario in report
        .scenarios
        .iter()
        .filter(|s| s.status != ScenarioStatus::Passed)
    {
        println!(
            "\n{}: {} › {} ({}, seed {})\n  replay: {}",
            scenario.status.as_str(),
            scenario.feature,
            scenario.name,
            scenario.location,
            scenario.seed,
            scenario.replay
        );
        if let Some(failure) = &scenario.failure {
            println!("  {}", failure.lines().next().unwrap_or_default());
        }
    }
    let s = &report.summary;
    let inapplicable = match s.scenarios_not_applicable {
        0 => String::new(),
        n => format!(", {n} not applicable"),
    };
    println!(
        "\nscenarios: {} passed, {} failed, {} with no assertion{inapplicable}; claims: {} verified, {} refuted, {} unverified, {} regressed",
        s.scenarios_passed, s.scenarios_failed, s.scenarios_no_assertion, s.claims_verified, s.claims_refuted, s.claims_unverified, s.claims_regressed
    );
    let mut systems: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for scenario in report.scenarios.iter().filter(|s| !s.system.is_empty()) {
        *systems.entry(scenario.system.as_str()).or_default() += 1;
    }
    let systems: Vec<String> = systems
        .iter()
        .map(|(system, count)| format!("{system} ({count} scenarios)"))
        .collect();
    if !systems.is_empty() {
        println!("systems under test: {}", systems.join(", "));
    }
    println!("reports: {}", out.display());
}

/// Runs the nightly verification.
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let (ledger, ledger_name) = load_ledger(&args.ledger)?;
    let features = if embedded::use_embedded(&args.features, "features") {
        embedded::extract_features()?
    } else if args.features.is_dir() {
        args.features.clone()
    } else {
        anyhow::bail!("{}: no such features directory", args.features.display());
    };
    let baseline = match &args.baseline {
        Some(baseline) => {
            Some(baseline_claims(baseline, &args.history).context("reading the baseline")?)
        }
        None => None,
    };
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = run_id(started_unix_s);
    let otlp = super::export::target(&args.otlp, &id)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&id));

    let title = format!(
        "verify {}{}{}",
        features.display(),
        args.tags
            .as_ref()
            .map_or(String::new(), |t| format!(", tags {t}")),
        args.name
            .as_ref()
            .map_or(String::new(), |n| format!(", name ~ {n}"))
    );
    let watching = super::serve::WatchingSuite::start(&args.serve, title, &ledger, out.clone())?;
    let finished = Arc::new(AtomicU64::new(0));
    let seeds: Vec<Option<u64>> = match args.seeds {
        Some(count) => {
            let first = args.seed.unwrap_or(1);
            (0..count).map(|i| Some(first + i)).collect()
        }
        None => vec![args.seed],
    };
    let mut suite = swarmspec::steps::SuiteOutcome::default();
    let mut template = None;
    {
        let _bar = DelayedBar::start(None, Arc::clone(&finished), "scenarios finished");
        for seed in &seeds {
            let options = SuiteOptions {
                features_dir: features.clone(),
                reports_dir: match (args.seeds, seed) {
                    (Some(_), Some(seed)) => out.join(format!("seed-{seed}")),
                    _ => out.clone(),
                },
                tags: args.tags.clone(),
                name: args.name.clone(),
                seed: *seed,
                quiet: true,
                finished_scenarios: Some(Arc::clone(&finished)),
                otlp: otlp.clone(),
                system: args.system.clone(),
                extra_step_sources: Vec::new(),
                custom_metrics: ledger.metrics.clone(),
                live: watching.as_ref().map(|w| Arc::clone(&w.board)),
            };
            let one = futures::executor::block_on(run_suite(&options))?;
            template.get_or_insert(options);
            suite.passed = (suite.scenarios.is_empty() || suite.passed) && one.passed;
            suite.parse_errors = suite.parse_errors.max(one.parse_errors);
            suite.problems = one.problems;
            suite.scenarios.extend(one.scenarios);
        }
    }
    for problem in &suite.problems {
        eprintln!("{problem}");
    }
    let mutants = match (&args.mutants, &template) {
        (Some(selection), Some(options)) => {
            Some(super::mutants::run(selection, options, &suite.scenarios)?)
        }
        _ => None,
    };
    if let Some(otlp) = &otlp {
        super::export::print(&otlp.totals())?;
    }
    if suite.parse_errors > 0 {
        eprintln!(
            "{} feature file(s) did not parse: see {}",
            suite.parse_errors,
            out.join("cucumber.log").display()
        );
    }

    // The replay command names what this run was given beyond the defaults.
    let features_arg =
        (args.features != Path::new("features")).then(|| args.features.display().to_string());
    let system_arg = args.system.as_ref().map(|spec| spec.label());
    for scenario in &mut suite.scenarios {
        scenario.set_replay(features_arg.as_deref(), system_arg.as_deref());
    }
    let measured: Vec<ScenarioMetrics> = suite
        .scenarios
        .iter()
        .map(ScenarioResult::for_claims)
        .collect();
    let mut results = claims::evaluate(&ledger, &measured);
    if let Some(baseline) = &baseline {
        claims::mark_regressions(&ledger, &mut results, baseline);
    }
    if let Some(watching) = &watching {
        watching.board.decided(&results);
    }
    let mut summary = Summary::of(&suite.scenarios, &results);
    if !suite.passed && summary.scenarios_failed == 0 {
        // Parse errors or an empty run: no scenario to blame, but the run did not pass.
        summary.scenarios_failed = summary.scenarios_failed.max(1);
    }
    let report = RunReport {
        run: RunInfo {
            run_id: id,
            started_unix_s,
            seed_override: args.seed,
            tags: args.tags.clone(),
            ledger: ledger_name,
            features: features.display().to_string(),
            machine: Machine::current(),
        },
        summary,
        claims: results,
        scenarios: suite.scenarios,
        mutants,
        warnings: suite.problems.clone(),
    };
    report::write_all(&report, &out)?;
    if let Some(parent) = args.history.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    history::append(&args.history, &report)?;
    print_summary(&report, &out);
    if let Some(watching) = watching {
        watching.board.reports_written();
        watching.finish();
    }
    let unverified = report
        .claims
        .iter()
        .any(|c| c.status == ClaimStatus::Unverified);
    if args.strict && unverified {
        eprintln!("--strict: some claims are UNVERIFIED");
    }
    if args.strict && report.summary.scenarios_no_assertion > 0 {
        eprintln!("--strict: some scenarios asserted nothing (no Then step)");
    }
    Ok(if report.passed(args.strict) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
