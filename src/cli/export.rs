//! `--otlp ENDPOINT`: the option `run` and `verify` share, and how its outcome is printed.

use anyhow::Context as _;
use swarmspec::telemetry::otlp::{ExportReport, OtlpConfig, OtlpExport, OtlpTarget};
use swarmspec::telemetry::BoxedProcessor;

/// The variable `--otlp` falls back to.
const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The collector named by `--otlp` (or `OTEL_EXPORTER_OTLP_ENDPOINT`), checked before any
/// run starts so a typo fails at once rather than after a long run. An empty variable means
/// no export, as OpenTelemetry treats an empty variable as unset; an empty `--otlp ''` is
/// refused, since whoever typed it asked for an export and would silently get none.
pub fn target(endpoint: Option<&str>) -> anyhow::Result<Option<OtlpTarget>> {
    let Some(endpoint) = endpoint else {
        return Ok(None);
    };
    if endpoint.trim().is_empty() {
        // Clap hands over an empty variable as a value: only an empty variable is "unset".
        let unset_by_variable = std::env::var_os(OTLP_ENDPOINT_VAR).is_some_and(|v| v.is_empty());
        if unset_by_variable && endpoint.is_empty() {
            return Ok(None);
        }
        anyhow::bail!(
            "--otlp '{endpoint}': an empty endpoint would send nothing; name a collector \
             (e.g. http://127.0.0.1:4318) or leave --otlp out"
        );
    }
    let target = OtlpTarget::new(OtlpConfig::new(endpoint))
        .context("--otlp (or OTEL_EXPORTER_OTLP_ENDPOINT) is not a usable collector URL")?;
    Ok(Some(target))
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
pub fn print(report: &ExportReport) -> anyhow::Result<()> {
    if report.is_complete() {
        outln!("{report}");
    } else {
        eprintln!("warning: {report}");
    }
    Ok(())
}
