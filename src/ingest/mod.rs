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
/// The OTLP JSON document format.
pub mod otlp;
/// Checks across the file's spans: time window, duplicate ids, parent cycles.
pub mod sanity;
/// The flat span-log record format.
pub mod span_log;
/// Top-level JSON values of a reader, resynchronised after garbage.
pub mod stream;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::evidence::Evidence;
use crate::telemetry::{LatencyBook, OpKind, SpanRecord};
use stream::{Item, ValueStream};

/// How many skipped fragments a report lists; past this it only counts them, so a file of
/// garbage cannot exhaust memory through its own report.
pub const SKIPPED_LISTED_MAX: usize = 1_000;

/// How many refused spans a report keeps the reason of, for verdicts to cite.
pub const REFUSED_CITED_MAX: usize = 10;

/// What a read found besides the spans.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    /// Spans read.
    pub spans: usize,
    /// Fragments not read as spans: (1-based line where the fragment began, reason); at most
    /// `SKIPPED_LISTED_MAX` of them.
    pub skipped: Vec<(usize, String)>,
    /// Every fragment not read, listed or not.
    pub skipped_total: usize,
    /// Of those, spans the reader recognised and refused (a field missing or absurd, an id
    /// used twice, a parent loop): evidence lost, so no verdict on the rest may pass.
    pub spans_refused: usize,
    /// The first `REFUSED_CITED_MAX` refused spans: (line, reason).
    pub refused_first: Vec<(usize, String)>,
}

impl IngestReport {
    fn skip(&mut self, line: usize, reason: String) {
        self.skipped_total += 1;
        if self.skipped.len() < SKIPPED_LISTED_MAX {
            self.skipped.push((line, reason));
        }
    }

    fn refuse(&mut self, line: usize, reason: String) {
        self.spans_refused += 1;
        if self.refused_first.len() < REFUSED_CITED_MAX {
            self.refused_first.push((line, reason.clone()));
        }
        self.skip(line, reason);
    }
}

impl std::fmt::Display for IngestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} spans read, {} fragments skipped",
            self.spans, self.skipped_total
        )?;
        if self.spans_refused > 0 {
            write!(f, " ({} of them refused spans)", self.spans_refused)?;
        }
        for (line, reason) in &self.skipped {
            write!(f, "\n    - line {line}: {reason}")?;
        }
        Ok(())
    }
}

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

fn classify(value: Value, line: usize, found: &mut Found, report: &mut IngestReport) {
    let Value::Object(object) = value else {
        report.skip(line, format!("a top-level {} is not a span", kind(&value)));
        return;
    };
    if otlp::is_otlp(&object) {
        for converted in otlp::spans(&object) {
            match converted {
                Ok(span) => found.push(span, line),
                Err(reason) => report.refuse(line, reason),
            }
        }
    } else if span_log::is_span_log(&object) {
        match span_log::to_record(&object) {
            Ok(span) => found.push(span, line),
            Err(reason) => report.refuse(line, reason),
        }
    } else {
        let keys: Vec<&str> = object.keys().take(5).map(String::as_str).collect();
        report.skip(
            line,
            format!(
                "an object with neither resourceSpans nor operation_name (keys: {})",
                keys.join(", ")
            ),
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
            Some(sanity::Dropped::Refused(reason)) => report.refuse(line, reason),
            Some(sanity::Dropped::Copy(reason)) => report.skip(line, reason),
        }
    }
    // File-level refusals come after the fragments found on the way: list all by line.
    report.skipped.sort_by_key(|(line, _)| *line);
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

/// Reads every span from `reader`; `source` names it in errors.
pub fn read(reader: impl Read, source: &Path) -> Result<Ingested> {
    let mut stream = ValueStream::new(reader);
    let mut found = Found::default();
    let mut report = IngestReport::default();
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
            Item::Value { line, value } => classify(value, line, &mut found, &mut report),
            Item::Garbage { line, reason } => report.skip(line, format!("not JSON: {reason}")),
        }
    }
    let spans = keep_sane(found, &mut report);
    report.spans = spans.len();
    Ok(Ingested { spans, report })
}

/// Reads every span from the file at `path`, streaming it.
pub fn read_path(path: &Path) -> Result<Ingested> {
    let file = File::open(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    read(BufReader::new(file), path)
}
