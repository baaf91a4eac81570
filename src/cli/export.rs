//! `--otlp ENDPOINT`: the option `run` and `verify` share, and how its outcome is printed.

use anyhow::Context as _;
use swarmspec::telemetry::otlp::{ExportReport, OtlpConfig, OtlpExport, OtlpTarget};
use swarmspec::telemetry::BoxedProcessor;

/// The collector named by `--otlp` (or `OTEL_EXPORTER_OTLP_ENDPOINT`), checked before any
/// run starts so a typo fails at once rather than after a long run. An empty value means no
/// export, as OpenTelemetry treats an empty variable as unset.
pub fn target(endpoint: Option<&str>) -> anyhow::Result<Option<OtlpTarget>> {
    endpoint
        .filter(|endpoint| !endpoint.trim().is_empty())
        .map(|endpoint| {
            OtlpTarget::new(OtlpConfig::new(endpoint))
                .context("--otlp (or OTEL_EXPORTER_OTLP_ENDPOINT) is not a usable collector URL")
        })
        .transpose()
}

/// An export for one capture, if a collector was named: the export to finish after the run,
/// and the processors to build the capture with.
pub fn start(
    target: Option<&OtlpTarget>,
) -> anyhow::Result<(Option<OtlpExport>, Vec<BoxedProcessor>)> {
    match target {
        Some(target) => {
            let (export, processor) = target.start().context("cannot set up the OTLP exporter")?;
            Ok((Some(export), vec![processor]))
        }
        None => Ok((None, Vec::new())),
    }
}

/// Prints what became of the exported spans: a line when all arrived, a warning on stderr
/// when any did not (the run's own evidence is unaffected either way).
pub fn print(report: &ExportReport) {
    if report.is_complete() {
        println!("{report}");
    } else {
        eprintln!("warning: {report}");
    }
}
