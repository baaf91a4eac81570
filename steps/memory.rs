//! Memory claims, measured honestly: the swarm runs in a fresh `swarmspec` process of its
//! own (the bench's memory probe), so its resident-memory growth is that swarm's alone, not
//! whatever the test process already held or freed from earlier scenarios.

use crate::bench::swarm::memory_probe_in_child;
use crate::evidence::Verdict;
use crate::swarm::Mode;
use crate::telemetry::CaptureLevel;
use cucumber::{then, when};

use super::SwarmWorld;

const METRIC: &str = "memory.rss_mb_per_100_agents";

/// The swarmspec executable: the one cargo built for the tests, or this very program when
/// the steps run inside `swarmspec verify`.
fn executable() -> anyhow::Result<std::path::PathBuf> {
    super::processes::executable()
}

/// Runs the configured swarm (on the real clock, every span retained) in a child process and
/// keeps its peak memory growth per 100 agents, when the child could measure one.
#[when("the swarm runs in a process of its own, measuring its memory")]
fn runs_measured(world: &mut SwarmWorld) -> anyhow::Result<()> {
    let system = super::systems::under_test(world)?;
    if system != crate::systems::SystemSpec::Memory {
        let why = format!(
            "system {} is not swarmspec's engine, and this step measures that engine's own \
             memory in a child process",
            system.label()
        );
        world.system_label = system.label();
        world.not_applicable = Some(why.clone());
        anyhow::bail!("not applicable: {why}");
    }
    let (agents, items) = (world.config.agent_count, world.config.item_count);
    let probe = memory_probe_in_child(&executable()?, agents, items, CaptureLevel::Spans)?;
    let mut ran = world.config.clone();
    ran.mode = Mode::Throughput;
    world.run_record = super::record::swarm(&ran, 1, "memory");
    let growth = probe.rss_bytes_peak.saturating_sub(probe.rss_bytes_before);
    if probe.span_count == 0 || growth == 0 {
        world.unmeasured.insert(
            METRIC.into(),
            format!(
                "the child process saw {growth} bytes of growth over {} spans: nothing to measure",
                probe.span_count
            ),
        );
        world.memory_probe = None;
        return Ok(());
    }
    let per_100_agents_mb = growth as f64 / 1e6 * 100.0 / agents as f64;
    world.measured.insert(METRIC.into(), per_100_agents_mb);
    world.memory_probe = Some((per_100_agents_mb, probe.span_count));
    Ok(())
}

/// The measured growth per 100 agents is below `limit_mb`; with no measurement it fails.
#[then(expr = "its memory grew by less than {float} MB per 100 agents")]
fn memory_below(world: &mut SwarmWorld, limit_mb: f64) -> anyhow::Result<()> {
    let verdict = match world.memory_probe {
        Some((per_100_mb, spans)) => Verdict::new(
            "memory growth per 100 agents, measured in a process of its own",
            per_100_mb < limit_mb,
            format!("< {limit_mb} MB per 100 agents"),
            format!("{per_100_mb:.4} MB per 100 agents"),
            vec![format!(
                "{} agents, {} items, {spans} spans retained",
                world.config.agent_count, world.config.item_count
            )],
        ),
        None => Verdict::new(
            "memory growth per 100 agents, measured in a process of its own",
            false,
            format!("< {limit_mb} MB per 100 agents"),
            "no measurement",
            vec![world.unmeasured.get(METRIC).cloned().unwrap_or_else(|| {
                "no `When the swarm runs in a process of its own, measuring its memory` step ran"
                    .into()
            })],
        ),
    };
    world.judge(verdict)
}
