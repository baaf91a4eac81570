//! `swarmspec compliance`: the compliance report for a seeded swarm run and a directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use swarmspec::compliance::controls;
use swarmspec::evidence::Evidence;
use swarmspec::swarm::{Swarm, SwarmConfig};
use swarmspec::telemetry::Capture;

/// Options of `swarmspec compliance`.
#[derive(Debug, Args)]
pub struct ComplianceArgs {
    /// Directory scanned for secrets.
    #[arg(long, default_value = ".")]
    scan: PathBuf,
    /// Seed of the swarm run whose actions are audited.
    #[arg(long, default_value_t = 42, value_parser = super::numbers::U64(super::numbers::Whole::U64))]
    seed: u64,
}

/// Runs a small deterministic swarm, then prints each control with its evidence.
pub fn compliance(args: ComplianceArgs) -> anyhow::Result<ExitCode> {
    if !args.scan.is_dir() {
        anyhow::bail!("--scan {}: no such directory", args.scan.display());
    }
    let config = SwarmConfig::new(50, 200, args.seed);
    let capture = Arc::new(Capture::new(config.seed));
    Swarm::new(config)
        .run(Arc::clone(&capture))
        .context("the audited swarm run failed")?;
    let evidence = Evidence::from_capture(&capture).context("reading the capture")?;
    let verdicts = controls::report(&evidence.spans, &args.scan);
    for verdict in &verdicts {
        outln!("{verdict}");
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    outln!(
        "{} of {} controls pass",
        verdicts.len() - failed,
        verdicts.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
