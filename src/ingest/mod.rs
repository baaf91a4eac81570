//! Spans a real system wrote, read into `SpanRecord`s so every evidence check runs on them.
//!
//! One reader takes both formats, even mixed in one file: a stream of top-level JSON values
//! (one per line as the collector's file exporter writes them, pretty-printed, or back to
//! back), each of which is an OTLP document (`resourceSpans`), a span-log record
//! (`operation_name`), or something else. The file is streamed, never loaded whole. Nothing
//! is dropped silently: a fragment that is not JSON, an object that is neither format, and a
//! span missing what checks need are each listed in the `IngestReport` with the line it
//! started on. A span is also refused when the file as a whole shows it cannot be trusted
//! (`sanity`: a time far from the other spans, an id used twice, a parent loop), and the
//! report counts refused spans apart from other fragments, so a verdict on the rest can
//! say it was reached without them.

/// Field conversions: ids, timestamps, attribute values.
pub mod fields;
/// Another tool's span names, attribute keys and statuses mapped onto swarmspec's.
pub mod mapping;
/// The `--mapping` TOML file.
pub mod mapping_file;
/// Status values mapped while reading, and error statuses found in skipped fragments.
pub mod mapping_status;
/// The OTLP JSON document format.
pub mod otlp;
/// What a read skipped, by line and by class.
pub mod report;
/// Checks across the file's spans: time window, duplicate ids, parent cycles.
pub mod sanity;
/// The flat span-log record format.
pub mod span_log;
/// Top-level JSON values of a reader, resynchronised after garbage.
pub mod stream;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::evidence::Evidence;
use crate::telemetry::{LatencyBook, OpKind, SpanRecord};
use mapping::{MapReport, Mapping, Tally};
pub use report::{IngestReport, SkipKind, Skipped, REFUSED_CITED_MAX, SKIPPED_LISTED_MAX};
use stream::{Item, ValueStream};

/// Spans and the report of what else the input held.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// Every span read, in file order.
    pub spans: Vec<SpanRecord>,
    /// What was skipped, and where.
    pub report: IngestReport,
}

impl Ingested {
    /// Evidence over these spans; latency histograms come from the durations of spans whose
    /// names are known operations (`work.claim`, …), since no other samples exist.
    pub fn into_evidence(self) -> Evidence {
        let mut latencies = LatencyBook::new();
        for span in &self.spans {
            if let Some(op) = OpKind::from_span_name(&span.name) {
                latencies.record(op, span.duration_ns());
            }
        }
        Evidence {
            spans: self.spans,
            latencies,
        }
    }
}

/// Spans read so far, each with the line its value began on.
#[derive(Debug, Default)]
struct Found {
    spans: Vec<SpanRecord>,
    lines: Vec<usize>,
}

impl Found {
    fn push(&mut self, span: SpanRecord, line: usize) {
        self.spans.push(span);
        self.lines.push(line);
    }
}

/// The mapping a read applies, and its tally.
struct Mapper<'a> {
    mapping: &'a Mapping,
    tally: Tally,
}

fn classify(
    value: Value,
    line: usize,
    found: &mut Found,
    report: &mut IngestReport,
    mapper: &mut Mapper<'_>,
) {
    let Value::Object(mut object) = value else {
        let error = mapper.mapping.carries_error_status(&value);
        report.skip(
            line,
            SkipKind::NotObject,
            format!("a top-level {} is not a span", kind(&value)),
            error,
        );
        return;
    };
    if otlp::is_otlp(&object) {
        for converted in otlp::spans(&object) {
            match converted {
                Ok(span) => found.push(span, line),
                Err(refused) => report.refuse(line, refused.reason, refused.error_status),
            }
        }
    } else if span_log::is_span_log(&object) {
        mapper
            .mapping
            .normalise_status(&mut object, &mut mapper.tally);
        match span_log::to_record(&object) {
            Ok(span) => found.push(span, line),
            Err(reason) => {
                let error = object.get("status").is_some_and(|s| {
                    mapper
                        .mapping
                        .carries_error_status(&serde_json::json!({"status": s}))
                });
                report.refuse(line, reason, error);
            }
        }
    } else {
        let keys: Vec<String> = object.keys().take(5).cloned().collect();
        let error = mapper.mapping.carries_error_status(&Value::Object(object));
        report.skip(
            line,
            SkipKind::UnknownObject,
            format!(
                "an object with neither resourceSpans nor operation_name (keys: {})",
                keys.join(", ")
            ),
            error,
        );
    }
}

/// Applies `sanity::check`: refused spans and copies leave the spans for the report.
fn keep_sane(found: Found, report: &mut IngestReport) -> Vec<SpanRecord> {
    let dropped = sanity::check(&found.spans, &found.lines);
    let mut kept = Vec::with_capacity(found.spans.len());
    for ((span, line), dropped) in found.spans.into_iter().zip(found.lines).zip(dropped) {
        match dropped {
            None => kept.push(span),
            Some(sanity::Dropped::Refused(reason)) => {
                let error = span.is_error();
                report.refuse(line, reason, error);
            }
            Some(sanity::Dropped::Copy(reason)) => report.skip(line, SkipKind::Copy, reason, false),
        }
    }
    // File-level refusals come after the fragments found on the way: list all by line.
    report.skipped.sort_by_key(|skipped| skipped.line);
    report.refused_first.sort_by_key(|(line, _)| *line);
    kept
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Reads every span from `reader` as written; `source` names it in errors.
pub fn read(reader: impl Read, source: &Path) -> Result<Ingested> {
    read_mapped(reader, source, &Mapping::none()).map(|(ingested, _)| ingested)
}

/// Reads every span from `reader`, mapping another tool's naming with `mapping`; returns
/// the spans and what was mapped.
pub fn read_mapped(
    reader: impl Read,
    source: &Path,
    mapping: &Mapping,
) -> Result<(Ingested, MapReport)> {
    let mut stream = ValueStream::new(reader);
    let mut found = Found::default();
    let mut report = IngestReport::default();
    let mut mapper = Mapper {
        mapping,
        tally: Tally::default(),
    };
    // Each item consumes at least one byte, so the loop ends with the input.
    loop {
        let item = match stream.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(error) => {
                return Err(Error::Ingest {
                    path: source.to_path_buf(),
                    line: stream.line(),
                    problem: error.to_string(),
                })
            }
        };
        match item {
            Item::Value { line, value } => {
                classify(value, line, &mut found, &mut report, &mut mapper);
            }
            // Bytes that are not JSON cannot be read for a status: never flagged.
            Item::Garbage { line, reason } => {
                report.skip(
                    line,
                    SkipKind::NotJson,
                    format!("not JSON: {reason}"),
                    false,
                );
            }
        }
    }
    let mut spans = keep_sane(found, &mut report);
    mapping.apply(&mut spans, &mut mapper.tally);
    report.spans = spans.len();
    let mapped = mapper.tally.report(mapping);
    Ok((Ingested { spans, report }, mapped))
}

/// Reads every span from the file at `path` as written, streaming it.
pub fn read_path(path: &Path) -> Result<Ingested> {
    read_path_mapped(path, &Mapping::none()).map(|(ingested, _)| ingested)
}

/// Reads every span from the file at `path`, streaming it, mapped with `mapping`.
pub fn read_path_mapped(path: &Path, mapping: &Mapping) -> Result<(Ingested, MapReport)> {
    let file = File::open(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    read_mapped(BufReader::new(file), path, mapping)
}
