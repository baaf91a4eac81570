//! Steps about compliance: the audit chain, secret scanning, access policy, input validation.
//! Compliance spans (`audit.append`, `access.check`) go to a capture of their own and are
//! merged into the scenario's evidence after each step that writes them, so the generic
//! evidence steps in `telemetry.rs` work on them too.

use std::sync::Arc;

use crate::compliance::access::{AccessPolicy, AccessRequest, Action};
use crate::compliance::audit::{AuditEntry, AuditLog};
use crate::compliance::canary::{Planted, ScratchDir};
use crate::compliance::catalog::{self, HostileClass, Probe, Submission, WorkCatalog};
use crate::compliance::chain::Tamper;
use crate::compliance::checks::{self, Handling};
use crate::compliance::secrets::{ScanReport, SecretScanner};
use crate::compliance::validation::{self, InputField};
use crate::compliance::{self as compliance_lib};
use crate::coordination::Role;
use crate::evidence::Evidence;
use crate::telemetry::time_base::SIMULATED_EPOCH_UNIX_S;
use crate::telemetry::{Capture, LatencyBook};
use crate::Error;
use anyhow::Context as _;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::SwarmWorld;

/// Simulated time between two compliance events, so their spans are ordered and repeatable.
const EVENT_SPACING_NS: u64 = 1_000_000;

/// What compliance steps keep between steps of one scenario.
#[derive(Debug, Default)]
pub struct ComplianceState {
    capture: Option<Arc<Capture>>,
    audit: Option<AuditLog>,
    tampered: Vec<AuditEntry>,
    policy: AccessPolicy,
    events: u64,
    scratch: Option<ScratchDir>,
    planted: Vec<Planted>,
    report: Option<ScanReport>,
    catalog: WorkCatalog,
    probe: Option<Probe>,
    stored: Vec<(String, crate::error::Result<usize>)>,
}

impl ComplianceState {
    /// The scenario's audit log, writing its spans into the compliance capture.
    fn audit(&mut self, seed: u64) -> &mut AuditLog {
        let capture = self
            .capture
            .get_or_insert_with(|| Arc::new(Capture::new(seed)));
        let tracer = capture.tracer().clone();
        self.audit.get_or_insert_with(|| AuditLog::traced(tracer))
    }

    fn next_event_unix_ns(&mut self) -> u64 {
        self.events += 1;
        SIMULATED_EPOCH_UNIX_S * 1_000_000_000 + self.events * EVENT_SPACING_NS
    }

    fn entries(&self) -> &[AuditEntry] {
        self.audit.as_ref().map_or(&[], AuditLog::entries)
    }

    fn report(&self) -> anyhow::Result<&ScanReport> {
        self.report
            .as_ref()
            .context("nothing was scanned: add `When the scratch directory is scanned for secrets`")
    }

    fn scratch(&mut self) -> anyhow::Result<&ScratchDir> {
        if self.scratch.is_none() {
            self.scratch = Some(ScratchDir::new()?);
        }
        self.scratch.as_ref().context("no scratch directory")
    }
}

/// Runs `work` on a thread of its own: the SDK's simple span processor blocks on each export
/// and refuses to run inside an executor (cucumber's), as `Swarm::run` also knows.
fn off_executor<T: Send>(work: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    std::thread::scope(|scope| scope.spawn(work).join())
        .map_err(|_| anyhow::anyhow!("a compliance call panicked"))
}

/// Replaces the compliance spans in the scenario's evidence with the capture's current ones.
fn publish(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let Some(capture) = &world.compliance.capture else {
        return Ok(());
    };
    let fresh = capture.spans()?;
    let evidence = world.evidence.get_or_insert_with(|| Evidence {
        spans: Vec::new(),
        latencies: LatencyBook::new(),
    });
    evidence
        .spans
        .retain(|span| !compliance_lib::is_compliance_span(span));
    evidence.spans.extend(fresh);
    Ok(())
}

/// Writes the run's coordination spans to the hash-chained audit log.
#[when("the run's coordination actions are written to the audit log")]
fn audit_run(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let spans = world.evidence()?.spans.clone();
    let audit = world.compliance.audit(world.config.seed);
    off_executor(|| audit.append_spans(&spans))?;
    publish(world)
}

/// Every coordination span of the run has exactly one audit entry.
#[then("every coordination action in the captured spans has exactly one audit entry")]
fn every_action_audited(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let spans = &world.evidence()?.spans;
    let verdict = checks::every_action_audited(spans, world.compliance.entries());
    world.judge(verdict)
}

/// The audit chain verifies, against the head hash the captured spans recorded.
#[then("the audit log verifies against the captured evidence")]
fn audit_verifies(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let spans = &world.evidence()?.spans;
    let verdict = checks::audit_chain_intact(world.compliance.entries(), spans);
    // The ledger's audit claim rests on this verdict.
    let intact = if verdict.passed { 1.0 } else { 0.0 };
    world.measured.insert("audit.chain_intact".into(), intact);
    world.judge(verdict)
}

/// Tampers with an exported copy of the log: modifies, deletes, reorders or inserts an entry.
#[when(expr = "an exported copy of the audit log has its entry {int} {word}")]
fn tamper(world: &mut SwarmWorld, index: usize, how: String) -> anyhow::Result<()> {
    let tamper = Tamper::parse(&how).with_context(|| {
        format!("unknown tampering «{how}»: use modified, rewritten, deleted, reordered, inserted or truncated")
    })?;
    let mut copy = world.compliance.entries().to_vec();
    tamper.apply(&mut copy, index)?;
    world.compliance.tampered = copy;
    Ok(())
}

/// Verifying the tampered copy names that fault at that entry.
#[then(expr = "verifying the copy reports {string} at entry {int}")]
fn tamper_located(world: &mut SwarmWorld, fault: String, index: usize) -> anyhow::Result<()> {
    let spans = &world.evidence()?.spans;
    let verdict = checks::tampering_located(&world.compliance.tampered, spans, &fault, index);
    world.judge(verdict)
}

/// Uses the standard role → permission policy.
#[given("the standard access policy")]
fn standard_policy(world: &mut SwarmWorld) {
    world.compliance.policy = AccessPolicy::standard();
}

/// An agent of a role asks to perform an action; the check leaves an `access.check` span.
#[when(regex = r#"^an? (\w+) agent "([^"]*)" asks to (.+)$"#)]
fn asks(world: &mut SwarmWorld, role: String, agent: String, action: String) -> anyhow::Result<()> {
    let role = Role::parse(&role).with_context(|| format!("unknown role «{role}»"))?;
    let request = AccessRequest {
        agent: validation::agent_id(&agent)?,
        role,
        action: Action::parse(&action)?,
        at_unix_ns: world.compliance.next_event_unix_ns(),
    };
    let policy = world.compliance.policy.clone();
    let audit = world.compliance.audit(world.config.seed);
    match off_executor(|| policy.check(&request, audit))? {
        // A refusal is what some scenarios are about; the spans and the audit log record it.
        Ok(()) | Err(Error::AccessDenied { .. }) => publish(world),
        Err(other) => Err(other.into()),
    }
}

/// That request was refused, and the refusal is in the audit log.
#[then(regex = r#"^the request of "([^"]*)" to (.+) was refused and audited$"#)]
fn refused_and_audited(
    world: &mut SwarmWorld,
    agent: String,
    action: String,
) -> anyhow::Result<()> {
    let action = Action::parse(&action)?;
    let spans = &world.evidence()?.spans;
    let verdict = checks::denial_audited(spans, world.compliance.entries(), &agent, action);
    world.judge(verdict)
}

/// Plants one fake credential of each kind in a scratch directory.
#[given("one fake credential of each kind is planted in a scratch directory")]
fn plant(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let seed = world.config.seed;
    world.compliance.planted = world.compliance.scratch()?.plant(seed)?;
    Ok(())
}

/// Writes a file with the given text into the scratch directory.
#[given(expr = "a file {string} in the scratch directory containing:")]
fn scratch_file(world: &mut SwarmWorld, path: String, step: &Step) -> anyhow::Result<()> {
    let text = step
        .docstring
        .as_deref()
        .context("the step needs a \"\"\" text block")?;
    world.compliance.scratch()?.write(&path, text)?;
    Ok(())
}

/// Scans the scratch directory for secrets.
#[when("the scratch directory is scanned for secrets")]
fn scan(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let report = SecretScanner::new().scan_dir(world.compliance.scratch()?.path())?;
    world.compliance.report = Some(report);
    Ok(())
}

/// Every planted credential is reported with file, line and rule.
#[then("every planted credential is reported with its file, line and rule")]
fn planted_found(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict =
        checks::planted_secrets_found(world.compliance.report()?, &world.compliance.planted);
    world.judge(verdict)
}

/// The printed scan report contains none of the planted secrets.
#[then("the printed scan report shows none of the planted credentials")]
fn report_hides(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let verdict =
        checks::report_hides_secrets(world.compliance.report()?, &world.compliance.planted);
    world.judge(verdict)
}

/// Nothing is reported, and allow-listed matches were suppressed.
#[then(
    expr = "no secret is reported in {int} scanned file(s), and {int} allow-listed match(es) were suppressed"
)]
fn only_allow_listed(
    world: &mut SwarmWorld,
    files: usize,
    suppressed: usize,
) -> anyhow::Result<()> {
    let verdict = checks::only_allow_listed(world.compliance.report()?, files, suppressed);
    world.judge(verdict)
}

/// A work catalog that already holds that many valid records.
#[given(expr = "a work catalog holding {int} valid records")]
fn catalog_with(world: &mut SwarmWorld, count: u64) -> anyhow::Result<()> {
    for n in 1..=count {
        world.compliance.catalog.submit(&Submission::valid(n))?;
    }
    Ok(())
}

/// Submits a field containing hostile input.
#[when(regex = r"^an? (agent id|work type|description|environment) containing (.+) is submitted$")]
fn hostile(world: &mut SwarmWorld, field: String, class: String) -> anyhow::Result<()> {
    let field = InputField::parse(&field).with_context(|| format!("unknown field «{field}»"))?;
    let class = HostileClass::parse(&class).with_context(|| {
        format!("unknown input class «{class}»: use quotes, shell metacharacters, path traversal, control characters or oversized text")
    })?;
    world.compliance.probe = Some(catalog::probe(&mut world.compliance.catalog, field, class));
    Ok(())
}

/// The hostile input was refused or stored safely, and earlier records are intact.
#[then(regex = r"^it is (refused|stored safely), and the earlier records are unchanged$")]
fn hostile_handled(world: &mut SwarmWorld, handling: String) -> anyhow::Result<()> {
    let handling = Handling::parse(&handling).context("use refused or stored safely")?;
    let state = &world.compliance;
    let probe = state.probe.as_ref().context("no input was submitted")?;
    let verdict = checks::hostile_input_handled(probe, &state.catalog, handling);
    world.judge(verdict)
}

/// Stores each description of the table in the work catalog.
#[when("these descriptions are stored:")]
fn store_table(world: &mut SwarmWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table")?;
    // The first row is the header.
    let texts = table
        .rows
        .iter()
        .skip(1)
        .filter_map(|row| row.first().cloned())
        .collect();
    world.compliance.stored = catalog::store_descriptions(&mut world.compliance.catalog, texts);
    Ok(())
}

/// Stores that many generated hostile descriptions.
#[when(expr = "{int} generated descriptions of up to {int} characters are stored")]
fn store_generated(world: &mut SwarmWorld, count: usize, len_chars_max: usize) {
    let texts = catalog::hostile_descriptions(world.config.seed, count, len_chars_max);
    world.compliance.stored = catalog::store_descriptions(&mut world.compliance.catalog, texts);
}

/// Every stored description reads back byte for byte.
#[then(regex = r"^every description reads back identical( or was refused as a description)?$")]
fn read_back(world: &mut SwarmWorld, refusals: String) -> anyhow::Result<()> {
    let state = &world.compliance;
    let verdict =
        checks::descriptions_read_back(&state.catalog, &state.stored, !refusals.is_empty());
    world.judge(verdict)
}

/// Makes the compliance report for the run (audit integrity, no secrets under the directory,
/// least privilege, input validation) and passes only if every control does.
#[then(expr = "the compliance report, scanning {string}, passes every control")]
fn controls_pass(world: &mut SwarmWorld, directory: String) -> anyhow::Result<()> {
    // Relative to the working directory, else to the crate the binary was built from.
    let mut root = std::path::PathBuf::from(&directory);
    if !root.exists() {
        root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&directory);
    }
    let spans = world.evidence()?.spans.clone();
    for verdict in crate::compliance::controls::report(&spans, &root) {
        world.judge(verdict)?;
    }
    Ok(())
}
