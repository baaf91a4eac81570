//! `--otlp` and its companions: the options `run` and `verify` share, and how an export's
//! outcome is printed.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use swarmspec::telemetry::otlp::{
    ExportReport, OtlpConfig, OtlpExport, OtlpFlags, OtlpTarget, RunAttributes,
};
use swarmspec::telemetry::BoxedProcessor;

/// Where spans are also sent. Each option beats its `OTEL_EXPORTER_OTLP_*` variables (the
/// traces-specific one first); README's export paragraph lists them all.
#[derive(Debug, Clone, Args)]
pub struct OtlpArgs {
    /// Also send every span to this OTLP/HTTP collector: a base URL such as
    /// http://127.0.0.1:4318 (spans go to /v1/traces) or https://…. Without it,
    /// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT
    /// (base URL) name the collector. The checks still read the run's own capture; spans
    /// the collector did not get are reported as a warning.
    #[arg(long, value_name = "ENDPOINT")]
    pub otlp: Option<String>,
    /// A header for every export request, e.g. `authorization=Bearer …` (repeatable; adds
    /// to OTEL_EXPORTER_OTLP_HEADERS). Values are never printed.
    #[arg(long = "otlp-header", value_name = "KEY=VALUE")]
    pub otlp_headers: Vec<String>,
    /// Budget for one export, in ms [default: OTEL_EXPORTER_OTLP_TIMEOUT, else 5000].
    #[arg(long, value_name = "MS")]
    pub otlp_timeout_ms: Option<u64>,
    /// `gzip` or `none` [default: OTEL_EXPORTER_OTLP_COMPRESSION, else none].
    #[arg(long, value_name = "gzip|none")]
    pub otlp_compression: Option<String>,
    /// A PEM file of the CA certificates to trust for an https collector, instead of the
    /// system's [default: OTEL_EXPORTER_OTLP_CERTIFICATE].
    #[arg(long, value_name = "FILE")]
    pub otlp_certificate: Option<PathBuf>,
    /// How long spans wait to be sent in a batch, in ms [default: OTEL_BSP_SCHEDULE_DELAY,
    /// else 5000]. Shorter loses fewer spans when the process is killed.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub otlp_batch_delay_ms: Option<u64>,
}

impl OtlpArgs {
    fn flags(&self) -> OtlpFlags {
        OtlpFlags {
            endpoint: self.otlp.clone(),
            headers: self.otlp_headers.clone(),
            timeout_ms: self.otlp_timeout_ms,
            compression: self.otlp_compression.clone(),
            certificate: self.otlp_certificate.clone(),
        }
    }
}

/// The collector the options and variables name, checked before any run starts so a typo
/// fails at once rather than after a long run; `None` when none is named. Every capture it
/// serves carries `run_id`.
pub fn target(args: &OtlpArgs, run_id: &str) -> anyhow::Result<Option<OtlpTarget>> {
    // An empty variable means "unset", but whoever typed `--otlp ''` asked for an export
    // and would silently get none.
    if args.otlp.as_deref().is_some_and(|e| e.trim().is_empty()) {
        anyhow::bail!(
            "--otlp '': an empty endpoint would send nothing; name a collector \
             (e.g. http://127.0.0.1:4318) or leave --otlp out"
        );
    }
    let config = OtlpConfig::from_flags_and_env(&args.flags())
        .context("the OTLP export settings are not usable")?;
    config
        .map(|mut config| {
            config.resource = config.resource.with_run_id(run_id);
            config.batch_delay = args
                .otlp_batch_delay_ms
                .map(std::time::Duration::from_millis);
            OtlpTarget::new(config).context("the OTLP collector URL is not usable")
        })
        .transpose()
}

/// An export for one capture of `run`, if a collector was named: the export to finish
/// after the run, and the processors to build the capture with.
pub fn start(
    target: Option<&OtlpTarget>,
    run: &RunAttributes,
) -> anyhow::Result<(Option<OtlpExport>, Vec<BoxedProcessor>)> {
    match target {
        Some(target) => {
            let (export, processor) = target
                .start(Some(run))
                .context("cannot set up the OTLP exporter")?;
            Ok((Some(export), vec![processor]))
        }
        None => Ok((None, Vec::new())),
    }
}

/// Prints what became of the exported spans: a line when all arrived, a warning on stderr
/// when any did not (the run's own evidence is unaffected either way).
pub fn print(report: &ExportReport) -> anyhow::Result<()> {
    if report.is_complete() {
        outln!("{report}");
    } else {
        eprintln!("warning: {report}");
    }
    Ok(())
}
