//! Runs every feature file under a directory with the shared steps, writing JUnit and
//! cucumber JSON, and turns each finished scenario into a `ScenarioResult` for reports.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::claims::metrics;
use crate::report::{series, Attempt, ScenarioResult, ScenarioStatus};
use anyhow::Context as _;
use cucumber::event::ScenarioFinished;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::writer::{self, Stats as _};
use cucumber::{World as _, WriterExt as _};

use super::world::{SwarmWorld, OTLP_TARGET, SEED_OVERRIDE};
use crate::telemetry::otlp::OtlpTarget;

/// How to run a suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteOptions {
    /// Where the `.feature` files are.
    pub features_dir: PathBuf,
    /// Where `junit.xml`, `cucumber.json` and `verdicts.json` go.
    pub reports_dir: PathBuf,
    /// Only scenarios whose tags satisfy this expression run.
    pub tags: Option<String>,
    /// Only scenarios whose name contains this text run.
    pub name: Option<String>,
    /// Replaces every scenario's seed.
    pub seed: Option<u64>,
    /// Send cucumber's step-by-step output to `cucumber.log` in the report directory
    /// instead of the terminal (for a progress bar to own the terminal).
    pub quiet: bool,
    /// Counts finished scenarios, live.
    pub finished_scenarios: Option<Arc<AtomicU64>>,
    /// A collector every scenario's spans are also exported to.
    pub otlp: Option<OtlpTarget>,
    /// The system every scenario that names none runs against (else `SWARMSPEC_SYSTEM`,
    /// else `memory`).
    pub system: Option<crate::systems::SystemSpec>,
    /// Step definitions of the calling crate, as `(domain, source text)` (pass
    /// `include_str!` of each file), so the pre-run check does not call them unknown.
    pub extra_step_sources: Vec<(&'static str, &'static str)>,
    /// Metrics the ledger defines from span queries, measured on every scenario's evidence
    /// beside the built-in catalogue.
    pub custom_metrics: Vec<crate::claims::CustomMetric>,
    /// The live view of a verify run (`verify --serve`), told of every scenario as it
    /// starts and finishes.
    pub live: Option<Arc<crate::live::SuiteBoard>>,
}

/// What a suite run produced.
#[derive(Debug, Clone, Default)]
pub struct SuiteOutcome {
    /// No step failed or was skipped, every file parsed, and at least one step ran.
    pub passed: bool,
    /// Every scenario that ran, in order.
    pub scenarios: Vec<ScenarioResult>,
    /// Feature files that did not parse.
    pub parse_errors: usize,
    /// Syntax errors and unknown steps found before the run, as `file:line: message`.
    pub problems: Vec<String>,
}

type Results = Arc<Mutex<Vec<ScenarioResult>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only appended to or replaced whole; a panic elsewhere leaves it usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a scenario is written, as `file:line` with the file relative to `root` (the
/// features directory), so reports read the same on every machine.
fn location(feature: &cucumber::gherkin::Feature, line: usize, root: &Path) -> String {
    let path = feature.path.clone().unwrap_or_default();
    let shown = path.strip_prefix(root).unwrap_or(&path);
    let shown = if shown.as_os_str().is_empty() {
        path.file_name().map(PathBuf::from).unwrap_or_default()
    } else {
        shown.to_path_buf()
    };
    format!("{}:{line}", shown.display())
}

fn scenario_result(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
    finished: &ScenarioFinished,
    world: Option<&mut SwarmWorld>,
    custom: &[crate::claims::CustomMetric],
) -> ScenarioResult {
    let asserts = scenario
        .steps
        .iter()
        .any(|step| step.ty == cucumber::gherkin::StepType::Then);
    let (status, failure) = match finished {
        ScenarioFinished::StepPassed if !asserts => (
            ScenarioStatus::NoAssertion,
            Some("no Then step: the scenario asserted nothing, so it proves nothing".to_owned()),
        ),
        ScenarioFinished::StepPassed => (ScenarioStatus::Passed, None),
        ScenarioFinished::StepSkipped => (
            ScenarioStatus::Skipped,
            Some(undefined_step(feature, scenario)),
        ),
        ScenarioFinished::StepFailed(_, _, error) => {
            (ScenarioStatus::Failed, Some(error.to_string()))
        }
        ScenarioFinished::BeforeHookFailed(_) => (
            ScenarioStatus::Failed,
            Some("a before hook failed".to_owned()),
        ),
    };
    let mut result = ScenarioResult::new(&feature.name, &scenario.name, status);
    result.tags = feature
        .tags
        .iter()
        .chain(rule.iter().flat_map(|r| &r.tags))
        .chain(&scenario.tags)
        .cloned()
        .collect();
    result.rule = rule.map(|r| r.name.clone());
    result.failure = failure;
    let Some(world) = world else { return result };
    result.seed = world.config.seed;
    result.system = world.system_label.clone();
    result.system_log = std::mem::take(&mut world.system_log);
    if let Some(why) = world.not_applicable.take() {
        result.status = ScenarioStatus::NotApplicable;
        result.failure = Some(why);
        return result;
    }
    result.verdicts = std::mem::take(&mut world.verdicts);
    result.record = std::mem::take(&mut world.run_record);
    // A scenario that passes by catching a system broken on purpose (a lossy or racy child,
    // say) ran no correct engine, whatever its configuration said.
    let broken_on_purpose = result.verdicts.iter().any(|v| v.is_expected_refutation());
    let engine = result.record.get("engine").map(ToString::to_string);
    if broken_on_purpose && engine.as_deref().is_none_or(|e| e == "correct") {
        result.record.insert(
            "engine".into(),
            crate::claims::conditions::text("broken-on-purpose"),
        );
    }
    if let Some(evidence) = world.evidence.take() {
        result.mode = Some(world.config.mode.as_str().to_owned());
        let mut measurement = metrics::measure(&evidence);
        crate::claims::custom::measure_all(custom, &evidence, &mut measurement);
        result.metrics = measurement.observed;
        result.unmeasured = measurement.unmeasured;
        result.latencies = series::latencies(&evidence.latencies);
        result.throughput_series = series::claim_throughput(&evidence);
        if result.tags.iter().any(|t| t == "timeline") {
            result.timeline = series::timeline(&evidence);
        }
    }
    for (name, value) in std::mem::take(&mut world.measured) {
        result.unmeasured.remove(&name);
        result.metrics.insert(name, value);
    }
    result
        .unmeasured
        .extend(std::mem::take(&mut world.unmeasured));
    result
}

/// Adds a finished run of a scenario to `results`. A scenario cucumber retried
/// (`@retry(N)`) finishes once per attempt: a later attempt replaces the earlier one, which is
/// kept among its `attempts`, so the scenario is reported (and counted) once.
fn record_attempt(results: &mut Vec<ScenarioResult>, mut result: ScenarioResult) {
    let same = |earlier: &ScenarioResult| {
        earlier.location == result.location
            && earlier.feature == result.feature
            && earlier.name == result.name
    };
    // Only a scenario tagged `@retry…` runs more than once (the CLI's --retry is not read).
    let retried = result.tags.iter().any(|t| t.starts_with("retry"));
    match results.iter().rposition(same).filter(|_| retried) {
        Some(index) => {
            let earlier = results.remove(index);
            result.attempts = earlier.attempts;
            result.attempts.push(Attempt {
                status: earlier.status,
                failure: earlier.failure,
                duration_ms: earlier.duration_ms,
            });
            results.push(result);
        }
        None => results.push(result),
    }
}

/// Which step of a skipped scenario has no definition, and why, as `file:line:column:
/// cause` (cucumber only says that one had none).
fn undefined_step(
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
) -> String {
    static ENTRIES: std::sync::OnceLock<Vec<super::catalogue::StepEntry>> =
        std::sync::OnceLock::new();
    let entries = ENTRIES.get_or_init(super::catalogue::catalogue);
    let path = feature.path.clone().unwrap_or_default();
    match super::precheck::first_undefined(&path, scenario, entries) {
        Some(problem) => format!("a step has no definition: {problem}"),
        None => format!(
            "a step has no definition ({}:{})",
            path.display(),
            scenario.position.line
        ),
    }
}

fn print_ledger(entries: &[ScenarioResult]) {
    println!();
    println!("[Evidence] expected vs observed, per scenario");
    for entry in entries {
        println!("  {} › {} (seed {})", entry.feature, entry.name, entry.seed);
        for verdict in &entry.verdicts {
            for (i, line) in verdict.to_string().lines().enumerate() {
                println!("    {}{line}", if i == 0 { "" } else { "  " });
            }
        }
    }
}

/// Lists the scenarios the system under test could not run, with why (never silently).
fn print_not_applicable(entries: &[ScenarioResult]) {
    let inapplicable: Vec<&ScenarioResult> = entries
        .iter()
        .filter(|entry| entry.status == ScenarioStatus::NotApplicable)
        .collect();
    if inapplicable.is_empty() {
        return;
    }
    eprintln!();
    eprintln!(
        "[Not applicable] {} scenario(s) need what the system under test does not offer:",
        inapplicable.len()
    );
    for entry in inapplicable {
        let why = entry.failure.as_deref().unwrap_or_default();
        eprintln!("  {} › {}: {why}", entry.feature, entry.name);
    }
}

/// One suite at a time per process: the seed, collector and system overrides are
/// process-wide settings, so two suites at once (parallel tests) would run on each other's.
static ONE_SUITE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs the features in `options.features_dir`.
#[allow(
    clippy::await_holding_lock,
    reason = "the guard serialises whole suites; each suite's future runs on its caller's thread"
)]
pub async fn run_suite(options: &SuiteOptions) -> anyhow::Result<SuiteOutcome> {
    let _one_at_a_time = lock(&ONE_SUITE_AT_A_TIME);
    let reports_dir = &options.reports_dir;
    std::fs::create_dir_all(reports_dir).with_context(|| {
        format!(
            "cannot create the report directory {}",
            reports_dir.display()
        )
    })?;
    let open = |name: &str| {
        let path = reports_dir.join(name);
        File::create(&path).with_context(|| format!("cannot write {}", path.display()))
    };
    let tags: Option<TagOperation> = match &options.tags {
        Some(text) => Some(
            text.parse()
                .map_err(|e| anyhow::anyhow!("bad tag expression «{text}»: {e}"))?,
        ),
        None => None,
    };
    let terminal: Box<dyn std::io::Write> = if options.quiet {
        Box::new(open("cucumber.log")?)
    } else {
        Box::new(std::io::stdout())
    };
    let (junit, json) = (open("junit.xml")?, open("cucumber.json")?);
    let catalogue = super::catalogue::catalogue_with(&options.extra_step_sources);
    let problems = super::precheck::check(&options.features_dir, &catalogue);
    for problem in &problems {
        eprintln!("{problem}");
    }
    *lock(&SEED_OVERRIDE) = options.seed;
    *lock(&OTLP_TARGET) = options.otlp.clone();
    *lock(&super::world::LIVE_SUITE) = options.live.clone();
    *lock(&super::systems::SYSTEM_OVERRIDE) = options.system.clone();
    // Paths in steps are relative to the features' directory (or a single feature's).
    let features_root = if options.features_dir.is_file() {
        options.features_dir.parent().map(Path::to_path_buf)
    } else {
        Some(options.features_dir.clone())
    };
    *lock(&super::ingestion::FEATURES_DIR) = features_root;

    let name_filter = options.name.clone();
    let results: Results = Arc::default();
    let collected = Arc::clone(&results);
    let counter = options.finished_scenarios.clone();
    let custom = options.custom_metrics.clone();
    // Scenarios run one at a time, so the last start is the finishing scenario's.
    let started_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let started_at_end = Arc::clone(&started_at);
    let (live_start, live_end) = (options.live.clone(), options.live.clone());
    let root = if options.features_dir.is_file() {
        options
            .features_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    } else {
        options.features_dir.clone()
    };
    // Cucumber names feature files by their absolute path.
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let root_start = root.clone();
    let finished = SwarmWorld::cucumber::<PathBuf>()
        .with_parser::<_, PathBuf>(super::outlines::LinearOutlines)
        .before(move |feature, _, scenario, _| {
            *lock(&started_at) = Some(Instant::now());
            if let Some(live) = &live_start {
                let at = location(feature, scenario.position.line, &root_start);
                live.started(&feature.name, &scenario.name, at);
            }
            Box::pin(async {})
        })
        .after(move |feature, rule, scenario, finished, world| {
            // Read before the result takes the evidence, and only when someone watches.
            let deploy = match (&live_end, &world) {
                (Some(_), Some(world)) => world
                    .evidence
                    .as_ref()
                    .map(|evidence| crate::live::deploys::DeployPanel::from_spans(&evidence.spans)),
                _ => None,
            };
            let mut result = scenario_result(feature, rule, scenario, finished, world, &custom);
            result.location = location(feature, scenario.position.line, &root);
            result.duration_ms = lock(&started_at_end)
                .take()
                .map_or(0.0, |at| at.elapsed().as_secs_f64() * 1e3);
            if let Some(live) = &live_end {
                live.finished(&result, deploy);
            }
            record_attempt(&mut lock(&collected), result);
            if let Some(counter) = &counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Box::pin(async {})
        })
        // Swarm runs are CPU-bound and block while they run: one at a time keeps timings honest.
        .max_concurrent_scenarios(1)
        .with_writer(
            writer::Basic::raw(terminal, writer::Coloring::Auto, 0)
                .summarized()
                .tee::<SwarmWorld, _>(writer::JUnit::for_tee(junit, 0))
                .tee::<SwarmWorld, _>(writer::Json::for_tee(json))
                .normalized(),
        )
        .fail_on_skipped()
        // Never read the process's arguments: they belong to swarmspec or the test harness.
        .with_default_cli()
        .filter_run(
            options.features_dir.clone(),
            move |feature, rule, scenario| {
                let all_tags = feature
                    .tags
                    .iter()
                    .chain(rule.iter().flat_map(|r| &r.tags))
                    .chain(&scenario.tags);
                let named = name_filter
                    .as_ref()
                    .is_none_or(|text| scenario.name.contains(text.as_str()));
                named && tags.as_ref().is_none_or(|op| op.eval(all_tags))
            },
        )
        .await;
    *lock(&SEED_OVERRIDE) = None;
    *lock(&OTLP_TARGET) = None;
    *lock(&super::world::LIVE_SUITE) = None;
    *lock(&super::systems::SYSTEM_OVERRIDE) = None;

    let scenarios = lock(&results).clone();
    if !options.quiet {
        print_ledger(&scenarios);
    }
    print_not_applicable(&scenarios);
    let path = reports_dir.join("verdicts.json");
    let json = serde_json::to_string_pretty(&scenarios).context("serialising the verdicts")?;
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    // A suite that ran no step proves nothing: count it as a failure, not a pass.
    let ran_something = finished.passed_steps() + finished.failed_steps() > 0;
    if !ran_something && problems.is_empty() {
        eprintln!(
            "no step ran: is {} empty, or did the tags filter out everything?",
            options.features_dir.display()
        );
    } else if !ran_something {
        eprintln!(
            "no step ran: {} problems in the feature files (listed above) stop them",
            problems.len()
        );
    }
    // Cucumber counts a not-applicable scenario's refused run step as a failure; the suite
    // does not, but it still needs one scenario that did apply and pass.
    let only_inapplicable_failed = finished.parsing_errors() == 0
        && finished.hook_errors() == 0
        && scenarios.iter().all(|s| {
            matches!(
                s.status,
                ScenarioStatus::Passed
                    | ScenarioStatus::NoAssertion
                    | ScenarioStatus::NotApplicable
            )
        })
        && scenarios.iter().any(|s| s.status == ScenarioStatus::Passed);
    let cucumber_passed = !finished.execution_has_failed() || only_inapplicable_failed;
    Ok(SuiteOutcome {
        passed: ran_something && problems.is_empty() && cucumber_passed,
        problems: problems.iter().map(ToString::to_string).collect(),
        scenarios,
        parse_errors: finished.parsing_errors(),
    })
}

/// Runs the features in `features_dir` with terminal output, reports in `reports_dir`;
/// returns whether everything passed.
pub async fn run_features(features_dir: &Path, reports_dir: &Path) -> anyhow::Result<bool> {
    let options = SuiteOptions {
        features_dir: features_dir.to_path_buf(),
        reports_dir: reports_dir.to_path_buf(),
        ..SuiteOptions::default()
    };
    Ok(run_suite(&options).await?.passed)
}
